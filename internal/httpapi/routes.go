package httpapi

import (
	"net/http"
	"strings"

	"github.com/gorilla/mux"

	"atlaas/internal/atlaas"
)

// routes registers every route of the service; this is the only file that names paths.
func (s *Server) routes() {
	r := s.router
	r.Handle("/healthz", s.handle(s.healthz)).Methods(http.MethodGet, http.MethodHead)
	r.Handle("/readyz", s.handle(s.readyz)).Methods(http.MethodGet, http.MethodHead)

	api := r.PathPrefix("/api/v1").Subrouter()
	if s.searcher != nil && s.store != nil {
		api.Handle("/fiches", s.handle(s.searchFiches)).Methods(http.MethodGet, http.MethodHead)
		api.Handle("/fiches/{id}", s.handle(s.getFiche)).Methods(http.MethodGet, http.MethodHead)
		api.Handle("/fiches/{id}/connexes", s.handle(s.ficheConnexes)).Methods(http.MethodGet, http.MethodHead)
		api.Handle("/suggest", s.handle(s.suggest)).Methods(http.MethodGet, http.MethodHead)
	}

	r.NotFoundHandler = s.handle(func(w http.ResponseWriter, r *http.Request) error {
		return atlaas.Errorf(atlaas.ENOTFOUND, "Aucune ressource à l'adresse %s.", r.URL.Path)
	})
	r.MethodNotAllowedHandler = s.handle(func(w http.ResponseWriter, r *http.Request) error {
		allowed := s.allowedMethods(r)
		return &atlaas.Error{
			Code:    atlaas.EMETHOD,
			Message: "La méthode " + r.Method + " n'est pas acceptée ici ; méthodes acceptées : " + allowed + ".",
			Param:   allowed,
		}
	})
}

// allowedMethods lists the methods the routes matching r's path accept, for the Allow header.
func (s *Server) allowedMethods(r *http.Request) string {
	var methods []string
	seen := map[string]bool{}
	s.router.Walk(func(route *mux.Route, _ *mux.Router, _ []*mux.Route) error { //nolint:errcheck // the walk function never fails
		ms, err := route.GetMethods()
		if err != nil {
			return nil
		}
		probe := r.Clone(r.Context())
		for _, m := range ms {
			probe.Method = m
			var match mux.RouteMatch
			if route.Match(probe, &match) && !seen[m] {
				seen[m] = true
				methods = append(methods, m)
			}
		}
		return nil
	})
	return strings.Join(methods, ", ")
}

// pathParam reads a path parameter; the only place that knows the router's API for it.
func pathParam(r *http.Request, name string) string {
	return mux.Vars(r)[name]
}
