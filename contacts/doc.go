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
// Memory is safe for concurrent use. It is not meant for production.
package contacts
