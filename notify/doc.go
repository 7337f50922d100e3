// Package notify sends alerts about an adsync service's organizations to
// people: a generic signed webhook, Microsoft Teams and Slack incoming
// webhooks, and email over SMTP.
//
// A Notifier is an adsync.Observer: set it as adsync.Options.Observer (or
// combine it with others through adsync.Observers). It turns each finished
// run into events (held, failed, interrupted, recovered, new conflicts, TLS
// certificate expiring or expired, Autotask API budget past the pacing
// threshold) and alerts once per change of state, not once per run: the
// state lives in the history (adsync.NoticeStore), so it survives restarts
// and is shared by the replicas of a PostgreSQL history, which send one
// alert between them. While a state lasts, a reminder goes out every
// RemindAfter (24 hours by default).
//
// Alerts never delay or fail a run: the observer only queues the run's
// end; a goroutine decides, and each channel has its own bounded queue and
// goroutine that retries a failed delivery with backoff and logs it. A
// channel that is down delays only its own alerts; when a queue is full,
// the alert is dropped and logged.
//
// Secrets never appear in an alert or a log line: alert texts come from
// the run record (whose error texts carry no secrets), webhook URLs (whose
// paths are bearer tokens for Teams and Slack) are left out of delivery
// errors, and the webhook secret and SMTP password are only used to sign
// and to authenticate.
package notify
