package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"atlaas/internal/postgres/pgtest"
)

// startMain runs the program against a fresh database on a random port, and stops it when the
// test ends.
func startMain(t *testing.T, databaseURL string) *Main {
	t.Helper()
	m := &Main{
		Config: Config{DatabaseURL: databaseURL, Addr: "127.0.0.1:0", IndexDir: t.TempDir(), StatementTimeout: time.Minute, ShutdownTimeout: 10 * time.Second},
		Logger: slog.New(slog.DiscardHandler),
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := m.Open(ctx); err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- m.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
		m.Close()
	})
	waitIndexReady(t, m)
	return m
}

// waitIndexReady waits until the program's search index is built.
func waitIndexReady(t *testing.T, m *Main) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for m.search.Ready(context.Background()) != nil {
		if time.Now().After(deadline) {
			t.Fatal("search index not ready after 2 minutes")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestServeReadyAndNotFound(t *testing.T) {
	m := startMain(t, pgtest.MustURL(t))

	res, err := http.Get(m.URL() + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	var ready struct {
		Status string
		Checks []struct {
			Name string
			OK   bool
		}
	}
	err = json.NewDecoder(res.Body).Decode(&ready)
	res.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK || ready.Status != "ready" || len(ready.Checks) < 3 {
		t.Fatalf("/readyz: %d %+v, want 200 ready with database, schema and index checks", res.StatusCode, ready)
	}

	res, err = http.Get(m.URL() + "/nope")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusNotFound || res.Header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("/nope: %d %s %s, want 404 application/problem+json", res.StatusCode, res.Header.Get("Content-Type"), body)
	}
}

func TestServeRefusesSchemaAhead(t *testing.T) {
	u := pgtest.MustURL(t)
	pgtest.MustExec(t, u, "INSERT INTO goose_db_version (version_id, is_applied) VALUES (99999, true)")
	m := &Main{Config: Config{DatabaseURL: u, Addr: "127.0.0.1:0"}, Logger: slog.New(slog.DiscardHandler)}
	defer m.Close()
	err := m.Open(context.Background())
	if err == nil || !strings.Contains(err.Error(), "newer than this binary") {
		t.Fatalf("Open = %v, want a refusal naming a newer schema", err)
	}
}

func TestCommandLine(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		env      map[string]string
		wantCode int
		wantOut  string // in stdout
		wantErr  string // in stderr
	}{
		{"no command", nil, nil, 2, "Commands:", ""},
		{"help", []string{"help"}, nil, 0, "serve", ""},
		{"unknown command", []string{"frobnicate"}, nil, 2, "", `unknown command "frobnicate"`},
		{"serve help", []string{"serve", "--help"}, nil, 0, "ATLAAS_ADDR", ""},
		{"migrate help", []string{"migrate", "--help"}, nil, 0, "DATABASE_URL", ""},
		{"help hides the database password", []string{"serve", "--help"}, map[string]string{"DATABASE_URL": "postgres://u:s3cret@h/db"}, 0, "DATABASE_URL", ""},
		{"unknown flag", []string{"serve", "--nope"}, nil, 2, "", "flag provided but not defined"},
		{"bad log format", []string{"migrate", "--log-format", "xml"}, map[string]string{"DATABASE_URL": "postgres://x@127.0.0.1:1/db"}, 1, "", "--log-format"},
		{"no database", []string{"migrate"}, nil, 1, "", "DATABASE_URL"},
		{"stray argument", []string{"migrate", "now"}, nil, 2, "", `unexpected argument "now"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			env := &environment{stdout: &stdout, stderr: &stderr, getenv: func(k string) string { return tt.env[k] }}
			code := run(context.Background(), env, tt.args)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d; stderr %s", code, tt.wantCode, stderr.String())
			}
			if !strings.Contains(stdout.String(), tt.wantOut) || !strings.Contains(stderr.String(), tt.wantErr) {
				t.Fatalf("stdout %q, stderr %q; want %q and %q", stdout.String(), stderr.String(), tt.wantOut, tt.wantErr)
			}
			if strings.Contains(stdout.String()+stderr.String(), "s3cret") {
				t.Fatal("output shows the database password")
			}
		})
	}
}

// TestShutdownLetsInFlightRequestsFinish holds a request in its handler (its readiness check
// waits on a table lock), asks the program to stop, and checks that the request is answered
// before Serve returns.
func TestShutdownLetsInFlightRequestsFinish(t *testing.T) {
	u := pgtest.MustURL(t)
	m := &Main{
		Config: Config{DatabaseURL: u, Addr: "127.0.0.1:0", IndexDir: t.TempDir(), ShutdownTimeout: 10 * time.Second},
		Logger: slog.New(slog.DiscardHandler),
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := m.Open(ctx); err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	done := make(chan error, 1)
	go func() { done <- m.Serve(ctx) }()
	waitIndexReady(t, m)

	locker, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer locker.Close(context.Background())
	tx, err := locker.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "LOCK TABLE goose_db_version IN ACCESS EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
	answered := make(chan int, 1)
	go func() {
		res, err := http.Get(m.URL() + "/readyz")
		if err != nil {
			answered <- 0
			return
		}
		res.Body.Close()
		answered <- res.StatusCode
	}()
	time.Sleep(200 * time.Millisecond) // the handler is waiting on the lock
	cancel()
	time.Sleep(200 * time.Millisecond) // shutdown has begun
	select {
	case err := <-done:
		t.Fatalf("Serve returned (%v) with a request in flight", err)
	case code := <-answered:
		t.Fatalf("request answered (%d) before its handler could finish", code)
	default:
	}
	if err := tx.Commit(context.Background()); err != nil {
		t.Fatal(err)
	}
	if code := <-answered; code != http.StatusOK {
		t.Fatalf("in-flight request: status %d, want 200", code)
	}
	if err := <-done; err != nil {
		t.Fatalf("Serve: %v", err)
	}
}
