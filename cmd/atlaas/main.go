// Command atlaas serves the atlas of the label "Territoires, Villes et Villages Internet" and
// administers its database. Run `atlaas help` for the subcommands.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"atlaas/internal/atlaas"
)

// command is one subcommand; run parses its own flags and does the work.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, env *environment, args []string) error
}

// environment is what a subcommand may use from the outside world, so tests can replace it.
type environment struct {
	stdout, stderr io.Writer
	getenv         func(string) string
}

var commands = []command{
	{"serve", "serve the atlas over HTTP (migrates the schema first)", runServe},
	{"migrate", "apply the pending schema migrations and exit", runMigrate},
	{"demo", "demo load: load the reference data and generate the demonstration atlas", runDemo},
	{"reindex", "rebuild the search index from the database and switch to it", runReindex},
}

const usage = `atlaas — l'atlas du label « Territoires, Villes et Villages Internet »

Usage:
  atlaas <command> [flags]

Commands:
%s
Run "atlaas <command> --help" for the flags of a command. Every flag also reads an environment
variable, named in its help.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// After the first signal, restore the default: a second Ctrl-C ends the process at once.
		<-ctx.Done()
		stop()
	}()
	env := &environment{stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}
	os.Exit(run(ctx, env, os.Args[1:]))
}

// run dispatches to a subcommand and returns the process exit code.
func run(ctx context.Context, env *environment, args []string) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		printUsage(env.stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands {
		if c.name != args[0] {
			continue
		}
		err := c.run(ctx, env, args[1:])
		switch {
		case err == nil:
			return 0
		case errors.Is(err, flag.ErrHelp):
			return 0
		case errors.Is(err, errUsage):
			return 2
		default:
			msg := err.Error()
			if code := atlaas.ErrorCode(err); code != atlaas.EINTERNAL {
				msg = atlaas.ErrorMessage(err)
			}
			fmt.Fprintf(env.stderr, "atlaas %s: %s\n", c.name, msg)
			return 1
		}
	}
	fmt.Fprintf(env.stderr, "atlaas: unknown command %q\n\n", args[0])
	printUsage(env.stderr)
	return 2
}

func printUsage(w io.Writer) {
	var list string
	for _, c := range commands {
		list += fmt.Sprintf("  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, usage, list)
}
