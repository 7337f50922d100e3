// Package contacts has an in-memory adsync.ContactStore for tests and demos,
// with fault injection.
//
// Memory keeps the contacts of any number of companies, assigns ids in
// ascending order like Autotask, and follows the ContactStore contract to the
// letter, so that it passes the conformance suite in contacts/contactstest.
// It also implements the optional capabilities adsync.CountryLister and
// adsync.BillingProductAssigner, and counts each call for its run with
// adsync.CountAPICall.
//
// Every method call is counted as one API call, as the Autotask REST API
// would count it (a read counts one call per page), and recorded in a call
// log (Calls, Counts). Faults are injected per call, by number (FailCall,
// LoseResponse) or by rule (FailWhere, LoseWhere): a failed call is not
// applied; a call whose response is lost is applied and then reported as
// failed, which is what a timeout after the server committed a write looks
// like to a client (R-RUN-7).
//
// The code is in three files: memory.go is the store (the ContactStore
// methods and their bookkeeping), memory_faults.go the call log and the
// fault-injection API (Calls, Counts, FailCall, LoseResponse, FailWhere,
// LoseWhere), memory_edit.go the direct access a test uses to set up and
// inspect the company behind the API's back (AddCompany, Seed, Edit,
// Delete, All, Contact).
//
// Why it is here and not in contacts/contactstest, the way testing/fstest
// keeps MapFS with its suite: contactstest is the conformance suite and
// imports package testing; Memory is also a plain ContactStore that
// programs run (examples/custommatcher and examples/customhistory plan
// against it), and a program should not link a test suite to get one.
// sourcetest.Memory is small and used only by tests, so it lives with its
// suite.
//
// Memory is safe for concurrent use. It is not meant for production.
package contacts
