package httpapi

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"atlaas/internal/atlaas"
)

// problemTypeBase prefixes the "type" URI of every problem: one per error code.
const problemTypeBase = "https://atlaas.fr/problemes/"

// Problem is an RFC 9457 problem details object, with the offending parameter as an extension.
type Problem struct {
	Type     string `json:"type"`
	Title    string `json:"title"`
	Status   int    `json:"status"`
	Detail   string `json:"detail,omitempty"`
	Instance string `json:"instance,omitempty"`
	// Param names the query, path or body parameter at fault, when there is one.
	Param string `json:"param,omitempty"`
}

// errorStatus maps each domain error code to an HTTP status and a French title.
var errorStatus = map[string]struct {
	status int
	title  string
}{
	atlaas.EINVALID:      {http.StatusBadRequest, "Paramètre invalide"},
	atlaas.ENOTFOUND:     {http.StatusNotFound, "Introuvable"},
	atlaas.ECONFLICT:     {http.StatusConflict, "Conflit"},
	atlaas.EUNAUTHORIZED: {http.StatusUnauthorized, "Authentification requise"},
	atlaas.EFORBIDDEN:    {http.StatusForbidden, "Accès refusé"},
	atlaas.EUNAVAILABLE:  {http.StatusServiceUnavailable, "Service indisponible"},
	atlaas.ETOOLARGE:     {http.StatusRequestEntityTooLarge, "Requête trop volumineuse"},
	atlaas.EPRECONDITION: {http.StatusPreconditionRequired, "Précondition requise"},
	atlaas.EUNSUPPORTED:  {http.StatusUnsupportedMediaType, "Format non pris en charge"},
	atlaas.ENOTACCEPTED:  {http.StatusNotAcceptable, "Format de réponse non disponible"},
	atlaas.EMETHOD:       {http.StatusMethodNotAllowed, "Méthode non autorisée"},
	atlaas.EINTERNAL:     {http.StatusInternalServerError, "Erreur interne"},
}

// problemFor turns any error into the problem the user sees. Errors that are not *atlaas.Error
// become an opaque internal error: their text may hold details the user must not see.
func problemFor(err error, r *http.Request) Problem {
	code := atlaas.ErrorCode(err)
	s, ok := errorStatus[code]
	if !ok {
		code, s = atlaas.EINTERNAL, errorStatus[atlaas.EINTERNAL]
	}
	p := Problem{
		Type:     problemTypeBase + code,
		Title:    s.title,
		Status:   s.status,
		Detail:   atlaas.ErrorMessage(err),
		Instance: r.URL.RequestURI(),
		Param:    atlaas.ErrorParam(err),
	}
	if code == atlaas.EINTERNAL {
		p.Detail = "Une erreur inattendue est survenue ; elle a été enregistrée."
		p.Param = ""
	}
	return p
}

// writeError answers err as application/problem+json, logging it once when it is ours.
func writeError(w http.ResponseWriter, r *http.Request, logger *slog.Logger, err error) {
	p := problemFor(err, r)
	if p.Status >= 500 {
		logger.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "status", p.Status, "err", err)
	}
	var e *atlaas.Error
	if p.Status == http.StatusMethodNotAllowed && errors.As(err, &e) {
		w.Header().Set("Allow", e.Param)
		p.Param = ""
	}
	writeProblem(w, p)
}

// writeProblem writes p with its status; problems are never cached.
func writeProblem(w http.ResponseWriter, p Problem) {
	b, err := json.Marshal(p)
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/problem+json")
	h.Set("Cache-Control", "no-store")
	h.Del("ETag")
	w.WriteHeader(p.Status)
	w.Write(append(b, '\n')) //nolint:errcheck // the client went away; nothing to do
}
