// Package cli is the adsync command: its subcommands, its configuration
// file and its output. main only calls Run, so that tests run the command
// in-process against the emulators, with golden outputs in testdata
// (go test -update rewrites them).
//
// The configuration file is loaded by the public config package; this
// package adds the flags, the commands and their output.
//
// Bad input (flags, configuration, secrets) is an *InputError: the command
// prints it with the file, the line and the setting, and exits with
// ExitUsage before anything is written. The history store is opened only
// after the configuration and its secrets were validated.
package cli
