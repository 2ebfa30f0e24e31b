package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"atlaas/internal/httpapi"
	"atlaas/internal/postgres"
	"atlaas/internal/search"
)

func runServe(ctx context.Context, env *environment, args []string) error {
	var cfg Config
	fs := newFlagSet(env, "serve", "Serve the atlas over HTTP. The schema is migrated first; a schema newer than this binary is refused.")
	cfg.databaseFlags(fs)
	cfg.logFlags(fs)
	fs.stringVar(&cfg.Addr, "addr", "ATLAAS_ADDR", "127.0.0.1:8080", "address to listen on")
	fs.stringVar(&cfg.IndexDir, "index-dir", "ATLAAS_INDEX_DIR", "var/index", "directory of the search index")
	fs.durationVar(&cfg.ShutdownTimeout, "shutdown-timeout", "ATLAAS_SHUTDOWN_TIMEOUT", 20*time.Second, "how long in-flight requests may take to finish on SIGINT/SIGTERM")
	if err := fs.parse(args); err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	if cfg.IndexDir == "" {
		return errors.New("--index-dir must not be empty")
	}
	m := &Main{Config: cfg, Logger: cfg.newLogger(env.stderr)}
	if err := m.Open(ctx); err != nil {
		return err
	}
	defer m.Close()
	return m.Serve(ctx)
}

// Main is the serving program as a value: tests open it on 127.0.0.1:0 against a fresh database
// and stop it by cancelling the context of Serve.
type Main struct {
	Config Config
	Logger *slog.Logger

	db       *postgres.DB
	search   *search.Service
	listener net.Listener
	server   *http.Server
}

// Open connects to the database, brings its schema up, and listens on Config.Addr. On error,
// whatever it opened is closed.
func (m *Main) Open(ctx context.Context) (err error) {
	defer func() {
		if err != nil {
			m.Close()
		}
	}()
	db, err := postgres.Open(ctx, m.Config.DatabaseURL, postgres.Options{
		StatementTimeout: m.Config.StatementTimeout,
		ApplicationName:  "atlaas serve",
	}, m.Logger)
	if err != nil {
		return err
	}
	m.db = db
	if _, err := db.Migrate(ctx); err != nil {
		return err
	}
	m.search = search.NewService(m.Config.IndexDir, db, m.Logger)
	handler := httpapi.New(httpapi.Config{
		Logger: m.Logger,
		Checks: []httpapi.Check{
			{Name: "database", Func: db.Ping},
			{Name: "schema", Func: func(ctx context.Context) error { return db.CheckSchema(ctx, true) }},
			{Name: "index", Func: m.search.Ready},
		},
		Searcher: m.search,
		Store:    db,
	})
	m.server = &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(m.Logger.Handler(), slog.LevelWarn),
	}
	ln, err := net.Listen("tcp", m.Config.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", m.Config.Addr, err)
	}
	m.listener = ln
	return nil
}

// URL is the base URL the program serves on.
func (m *Main) URL() string {
	return "http://" + m.listener.Addr().String()
}

// Serve answers requests, and keeps the search index in step with the database, until ctx is
// cancelled; then it lets in-flight requests finish (up to ShutdownTimeout), stops the index and
// returns.
func (m *Main) Serve(ctx context.Context) error {
	m.Logger.Info("serving", "url", m.URL())
	indexCtx, stopIndex := context.WithCancel(context.WithoutCancel(ctx))
	indexDone := make(chan struct{})
	go func() {
		defer close(indexDone)
		if err := m.search.Run(indexCtx); err != nil {
			m.Logger.Error("search index stopped", "err", err)
		}
	}()
	defer func() {
		stopIndex()
		<-indexDone
	}()
	errc := make(chan error, 1)
	go func() { errc <- m.server.Serve(m.listener) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	m.Logger.Info("shutting down: finishing in-flight requests", "timeout", m.Config.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), m.Config.ShutdownTimeout)
	defer cancel()
	if err := m.server.Shutdown(sctx); err != nil {
		m.server.Close() // cut what did not finish in time, so that the pool can close
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	m.Logger.Info("stopped")
	return nil
}

// Close releases the listener and the database pool (after Serve has returned); it may be
// called more than once.
func (m *Main) Close() {
	if m.listener != nil {
		m.listener.Close()
		m.listener = nil
	}
	if m.db != nil {
		m.db.Close()
		m.db = nil
	}
}
