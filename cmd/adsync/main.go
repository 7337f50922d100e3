// Command adsync syncs contacts one way from Entra ID or Active Directory into
// Autotask PSA. Start with `go run ./cmd/adsync demo`, which needs no setup;
// README.md has the configuration reference.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/psasync/adsync/cmd/adsync/internal/cli"
)

func main() {
	// SIGINT and SIGTERM cancel the context: serve stops scheduling and
	// waits for the runs in flight, sync stops after its batch in flight.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
