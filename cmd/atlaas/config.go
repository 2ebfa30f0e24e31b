package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"
)

// errUsage marks a command-line mistake already reported to the user (exit code 2).
var errUsage = errors.New("usage")

// Config is the configuration of every subcommand, read once from flags and the environment.
type Config struct {
	DatabaseURL      string
	Addr             string
	IndexDir         string
	LogFormat        string
	LogLevel         string
	StatementTimeout time.Duration
	ShutdownTimeout  time.Duration
}

// flagSet builds the flags of a subcommand; each flag's default comes from its environment
// variable when set.
type flagSet struct {
	*flag.FlagSet
	env    *environment
	envErr error // the first environment variable that could not be read
}

func newFlagSet(env *environment, name, summary string) *flagSet {
	fs := flag.NewFlagSet("atlaas "+name, flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	fs.Usage = func() {
		fmt.Fprintf(env.stdout, "Usage: atlaas %s [flags]\n\n%s\n\nFlags:\n", name, summary)
		fs.SetOutput(env.stdout)
		fs.PrintDefaults()
		fs.SetOutput(env.stderr)
	}
	return &flagSet{FlagSet: fs, env: env}
}

func (fs *flagSet) stringVar(p *string, name, envVar, def, help string) {
	if v := fs.env.getenv(envVar); v != "" {
		def = v
	}
	fs.StringVar(p, name, def, help+" (env "+envVar+")")
}

// secretVar is stringVar for a value that must never be printed: --help does not show the
// environment's value as the default.
func (fs *flagSet) secretVar(p *string, name, envVar, help string) {
	fs.StringVar(p, name, "", help+" (env "+envVar+")")
	*p = fs.env.getenv(envVar)
}

func (fs *flagSet) durationVar(p *time.Duration, name, envVar string, def time.Duration, help string) {
	if v := fs.env.getenv(envVar); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			fs.badEnv(envVar, v, "a duration such as 30s")
		}
		def = d
	}
	fs.DurationVar(p, name, def, help+" (env "+envVar+")")
}

// intVar is an int flag whose default comes from an environment variable.
func (fs *flagSet) intVar(p *int, name, envVar string, def int, help string) {
	if v := fs.env.getenv(envVar); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			fs.badEnv(envVar, v, "an integer")
		}
		def = n
	}
	fs.IntVar(p, name, def, help+" (env "+envVar+")")
}

func (fs *flagSet) badEnv(envVar, value, want string) {
	if fs.envErr == nil {
		fs.envErr = fmt.Errorf("%s=%q: want %s", envVar, value, want)
	}
}

// parse parses args and reports usage errors once.
func (fs *flagSet) parse(args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.env.stderr, "atlaas: unexpected argument %q\n", fs.Arg(0))
		return errUsage
	}
	return fs.envErr
}

// databaseFlags are the flags of every subcommand that talks to PostgreSQL.
func (c *Config) databaseFlags(fs *flagSet) {
	fs.secretVar(&c.DatabaseURL, "database-url", "DATABASE_URL", "PostgreSQL + PostGIS connection URL (postgres://user:password@host:port/db)")
	fs.durationVar(&c.StatementTimeout, "statement-timeout", "ATLAAS_STATEMENT_TIMEOUT", 30*time.Second, "server-side limit of one SQL statement")
}

// logFlags are the flags of every subcommand.
func (c *Config) logFlags(fs *flagSet) {
	fs.stringVar(&c.LogFormat, "log-format", "ATLAAS_LOG_FORMAT", "text", "log format: text or json")
	fs.stringVar(&c.LogLevel, "log-level", "ATLAAS_LOG_LEVEL", "info", "log level: debug, info, warn or error")
}

// Validate checks the configuration and names the first bad setting.
func (c *Config) Validate() error {
	if c.LogFormat != "text" && c.LogFormat != "json" {
		return fmt.Errorf("--log-format %q: want text or json", c.LogFormat)
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(c.LogLevel)); err != nil {
		return fmt.Errorf("--log-level %q: want debug, info, warn or error", c.LogLevel)
	}
	if c.DatabaseURL == "" {
		return errors.New("no database: set DATABASE_URL or --database-url (`make db` starts a local PostGIS and prints one)")
	}
	if !strings.HasPrefix(c.DatabaseURL, "postgres://") && !strings.HasPrefix(c.DatabaseURL, "postgresql://") && !strings.Contains(c.DatabaseURL, "=") {
		return errors.New("--database-url: want a postgres:// URL or a key=value connection string")
	}
	if c.StatementTimeout < 0 {
		return errors.New("--statement-timeout must not be negative")
	}
	return nil
}

// newLogger builds the program's logger; Validate has checked format and level.
func (c *Config) newLogger(w io.Writer) *slog.Logger {
	var lvl slog.Level
	lvl.UnmarshalText([]byte(c.LogLevel)) //nolint:errcheck // validated before
	opts := &slog.HandlerOptions{Level: lvl}
	if c.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
