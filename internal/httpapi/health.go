package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"atlaas/internal/atlaas"
)

// Check is one condition of readiness (database reachable, schema at head, index ready…).
type Check struct {
	Name string
	Func func(ctx context.Context) error
}

type checkResult struct {
	Name  string `json:"name"`
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
}

// healthz answers as long as the process serves HTTP.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// readyz runs every readiness check and answers 503 when any fails, so a load balancer stops
// sending traffic to an instance that cannot serve it.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) error {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	status := http.StatusOK
	results := make([]checkResult, 0, len(s.checks))
	for _, c := range s.checks {
		res := checkResult{Name: c.Name, OK: true}
		if err := c.Func(ctx); err != nil {
			// Driver errors may name hosts and users: log them, show only our own messages.
			s.logger.WarnContext(ctx, "readiness check failed", "check", c.Name, "err", err)
			res.OK, res.Error = false, "échec (voir les journaux du service)"
			if atlaas.ErrorCode(err) != atlaas.EINTERNAL {
				res.Error = atlaas.ErrorMessage(err)
			}
			status = http.StatusServiceUnavailable
		}
		results = append(results, res)
	}
	body := struct {
		Status string        `json:"status"`
		Checks []checkResult `json:"checks"`
	}{"ready", results}
	if status != http.StatusOK {
		body.Status = "not ready"
	}
	return writeJSON(w, status, body)
}

// writeJSON encodes v fully, then writes it; health answers are never cached.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, err = w.Write(append(b, '\n'))
	return err
}
