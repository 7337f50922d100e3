// Package autotasktest is an in-process emulator of the Autotask PSA REST
// API for tests: the project's, its users' and the demo's.
//
// It follows Autotask's published REST contract and its documented quirks
// (the section numbers in comments refer to the project's notes on the
// Autotask REST API, docs/autotask-api.md): zone discovery, the three
// authentication headers, the Contacts read routes and the
// Companies/{id}/Contacts write routes (no writes on /Contacts), the whole
// query grammar with includeFields, maxRecords and nextPageUrl paging,
// validation failures as HTTP 500 with an errors list, entity field
// metadata, Companies, Countries, contact billing product associations,
// ThresholdInformation with a rolling-hour counter and the added latency
// tiers, and the thread limit of 3 requests in flight per endpoint. Every
// request is logged.
//
// # Faults
//
// A Fault given to InjectFault answers the next Fault.Times matching
// requests (0: every one, until ClearFaults). It either
// answers instead of serving the request, or serves it (a write commits)
// and then spoils the answer, which is what a client cannot tell apart:
//
//   - Status: an error status with Autotask's errors body (429, 503, a
//     validation or "unexpected error" 500, with Retry-After if set).
//   - Drop: the connection closes without an answer, before the write.
//   - AfterWrite with Status: a 5xx after the write happened.
//   - AfterWrite with Drop (or DropResponseAfterWrite): the write commits
//     and its answer is lost.
//   - Truncate: the write commits and the body is cut short mid-way.
//   - NoItemID: a create answered 200 with {} instead of {"itemId": N}.
//   - EmptyPage: a query answered 200 with no items, as a restricted API
//     security level can.
//   - Delay: the answer is held (longer than the client's timeout, it is
//     lost; an AfterWrite write still commits once the client gave up).
//   - CommitDelay: a contact the request creates stays invisible to every
//     read until the emulator's clock (see Advance) is CommitDelay past
//     the create, so that a look-up right after a lost create does not
//     find it: a create Autotask commits late.
//
// SetErrorRate and SetRandomFaults fail a share of requests at random; the
// random source is seeded by Options.Seed, so the faults are reproducible.
//
// # Latency and limits
//
// By default the emulator answers at once. Options.Latency (or
// SetLatencyModel) models Autotask's response time, a cost per call and
// per returned record (RealisticLatency documents the figures chosen):
// the answer is sent when that time has passed since the request arrived,
// the emulator's own work included, so that on a machine the client
// shares with the emulator a run's wall time is not charged for the
// emulator's CPU. SetLatency adds a fixed delay before the request is
// handled, and past 50 % and 75 % of the hourly threshold the delays
// Autotask adds come on top (scaled by Options.TimeScale). Every delay is
// spent while the request holds its thread slot: as at Autotask, a 4th
// request in flight on one endpoint (per integration code; contact writes
// on Companies/{id}/Contacts and contact metadata count as Contacts) is
// refused at once, not queued, with ThreadLimitMessage and
// Options.ThreadLimitStatus (429 by default; Autotask has also been seen
// to use 500). zoneInformation is exempt and not counted.
//
// The package imports only the standard library.
package autotasktest
