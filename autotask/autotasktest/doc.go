// Package autotasktest is an in-process emulator of the Autotask PSA REST
// API for tests: the project's, its users' and the demo's.
//
// It follows the documented wire format and quirks of
// docs/autotask-api.md (section numbers in comments refer to
// it): zone discovery, the three authentication headers, the Contacts read
// routes and the Companies/{id}/Contacts write routes (no writes on
// /Contacts), the whole query grammar with IncludeFields, MaxRecords and
// nextPageUrl paging, validation failures as HTTP 500 with an errors list,
// entity field metadata, Companies, Countries, contact billing product
// associations, ThresholdInformation with a rolling-hour counter and the
// added latency tiers, and the thread limit of 3 requests in flight per
// endpoint. Faults can be injected (scripted failures, error rates,
// latency, a response lost after the write committed); every request is
// logged.
//
// The package imports only the standard library.
package autotasktest
