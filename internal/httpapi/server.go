// Package httpapi serves Atlaas over HTTP: the JSON API, tiles, pages and operations endpoints.
// It is the only package that imports gorilla/mux.
package httpapi

import (
	"log/slog"
	"net/http"

	"github.com/gorilla/mux"
)

// Config is what the HTTP layer needs from the rest of the program.
type Config struct {
	Logger *slog.Logger
	// Checks are run by /readyz.
	Checks   []Check
	Searcher Searcher
	Store    Store
}

// Server is the HTTP handler of the service, with its routes and middleware.
type Server struct {
	router  *mux.Router
	handler http.Handler // router wrapped in the middleware
	logger  *slog.Logger
	checks  []Check

	searcher Searcher
	store    Store
}

// New builds the handler and its routes.
func New(cfg Config) *Server {
	s := &Server{router: mux.NewRouter(), logger: cfg.Logger, checks: cfg.Checks, searcher: cfg.Searcher, store: cfg.Store}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	s.routes()
	// The access log is outermost, so that it also logs the 500 the recovery writes.
	s.handler = s.logRequests(s.recoverPanics(s.router))
	return s
}

// ServeHTTP serves a request through the middleware.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.handler.ServeHTTP(w, r)
}
