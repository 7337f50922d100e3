// Package graphtest is an in-process emulator of the part of Microsoft Graph
// v1.0 that the Entra ID source reads, for tests (this project's and its
// users') and the demo. It imports only the standard library, so a program
// can use it without compiling the Graph SDK.
//
// What it serves (docs/directories.md §A, §C4):
//
//   - GET /v1.0/groups/{id} with $select;
//   - GET /v1.0/groups/{id}/members and /transitiveMembers, plain (every
//     directory object, with @odata.type) or cast to users through either
//     path the SDK or a person might send (/microsoft.graph.user and
//     /graph.user), with $select honoured (unselected properties are absent),
//     $top (default 100, at most 999) and absolute @odata.nextLink URLs;
//   - GET /v1.0/users/delta (also /users/delta()) with $select,
//     @odata.nextLink, @odata.deltaLink, $deltatoken=latest and @removed
//     entries for deleted users; tokens can be expired (410 Gone);
//   - GET /v1.0/users/{id};
//   - a token endpoint for client-secret credentials
//     (POST /{tenant}/oauth2/v2.0/token), answering AADSTS errors for an
//     unknown tenant, an unknown client id, a wrong secret and an expired
//     secret, so that a real credential can be tested against it.
//
// Faults can be injected: 429 or 503 with Retry-After, 403, 404, or any status,
// for a number of requests or for good; and application permissions can be
// withheld to reproduce the "limited information" trap, where group members
// come back with only their id (docs/directories.md §A1).
//
// Every request must carry a bearer token; any non-empty token is accepted
// unless RequireToken sets one. Servers listen on 127.0.0.1 only.
//
// The Server's surface is shared with autotasktest, after net/http/httptest:
// NewServer, NewTLSServer, URL, Client, Close, InjectFault and ClearFaults
// (a Fault's Times is the number of next matching requests it answers, 0
// for every one), and Requests.
//
// Listings are linear in the tenant's size: a member listing or delta round
// is computed once per state of the tenant, not once per page, so that a
// group of 100,000 members or more reads as fast per member as a small one.
package graphtest
