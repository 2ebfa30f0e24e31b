package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"atlaas/internal/atlaas"
)

// getProblem does a request and decodes the problem+json it must answer with.
func getProblem(t *testing.T, method, url string, wantStatus int) (Problem, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != wantStatus {
		t.Fatalf("%s %s: status %d, want %d; body %s", method, url, res.StatusCode, wantStatus, body)
	}
	if ct := res.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("%s %s: Content-Type %q, want application/problem+json", method, url, ct)
	}
	var p Problem
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatalf("%s %s: body is not a problem: %v: %s", method, url, err, body)
	}
	if p.Status != wantStatus || p.Title == "" || !strings.HasPrefix(p.Type, problemTypeBase) {
		t.Fatalf("%s %s: problem %+v is incomplete", method, url, p)
	}
	return p, res.Header
}

func TestUnknownRouteIs404Problem(t *testing.T) {
	srv := httptest.NewServer(New(Config{}))
	defer srv.Close()
	p, _ := getProblem(t, http.MethodGet, srv.URL+"/nope", http.StatusNotFound)
	if !strings.Contains(p.Detail, "/nope") || p.Instance != "/nope" {
		t.Fatalf("problem %+v does not name the path", p)
	}
}

func TestWrongMethodIs405Problem(t *testing.T) {
	srv := httptest.NewServer(New(Config{}))
	defer srv.Close()
	_, h := getProblem(t, http.MethodPost, srv.URL+"/healthz", http.StatusMethodNotAllowed)
	if allow := h.Get("Allow"); !strings.Contains(allow, "GET") {
		t.Fatalf("Allow = %q, want GET listed", allow)
	}
}

func TestPanicIs500ProblemAndServerKeepsServing(t *testing.T) {
	var logs bytes.Buffer
	s := New(Config{Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	s.router.Handle("/test/panic", s.handle(func(w http.ResponseWriter, r *http.Request) error {
		panic("boom: secret detail")
	}))
	srv := httptest.NewServer(s)
	defer srv.Close()

	p, _ := getProblem(t, http.MethodGet, srv.URL+"/test/panic", http.StatusInternalServerError)
	if strings.Contains(p.Detail, "secret") {
		t.Fatalf("problem leaks the panic value: %+v", p)
	}
	if !strings.Contains(logs.String(), "boom: secret detail") {
		t.Fatalf("the panic was not logged; logs: %s", logs.String())
	}
	for range 3 {
		res, err := http.Get(srv.URL + "/healthz")
		if err != nil {
			t.Fatalf("server stopped serving after a panic: %v", err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Fatalf("/healthz after a panic: %d", res.StatusCode)
		}
	}
}

func TestErrorsBecomeProblems(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		wantStatus int
		wantParam  string
		wantDetail string
	}{
		{"invalid param", atlaas.ParamErrorf(atlaas.EINVALID, "bbox", "bbox attend 4 nombres"), 400, "bbox", "bbox attend 4 nombres"},
		{"not found", atlaas.Errorf(atlaas.ENOTFOUND, "Fiche 12 introuvable."), 404, "", "Fiche 12 introuvable."},
		{"conflict", atlaas.Errorf(atlaas.ECONFLICT, "version périmée"), 409, "", "version périmée"},
		{"wrapped domain error", errors.Join(errors.New("context"), atlaas.ParamErrorf(atlaas.EINVALID, "limit", "trop grand")), 400, "limit", "trop grand"},
		{"plain error stays opaque", errors.New("pq: password authentication failed for user x"), 500, "", "Une erreur inattendue est survenue ; elle a été enregistrée."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(Config{})
			s.router.Handle("/test/err", s.handle(func(w http.ResponseWriter, r *http.Request) error { return tt.err }))
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/test/err?x=1", nil))
			if rec.Code != tt.wantStatus {
				t.Fatalf("status %d, want %d", rec.Code, tt.wantStatus)
			}
			var p Problem
			if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
				t.Fatal(err)
			}
			if p.Param != tt.wantParam || p.Detail != tt.wantDetail || p.Status != tt.wantStatus || p.Instance != "/test/err?x=1" {
				t.Fatalf("problem %+v, want param %q detail %q", p, tt.wantParam, tt.wantDetail)
			}
		})
	}
}

func TestReadyz(t *testing.T) {
	failing := errors.New("database unreachable")
	var fail bool
	s := New(Config{Checks: []Check{{Name: "database", Func: func(context.Context) error {
		if fail {
			return failing
		}
		return nil
	}}}})
	srv := httptest.NewServer(s)
	defer srv.Close()

	for _, tt := range []struct {
		fail bool
		want int
	}{{false, 200}, {true, 503}, {false, 200}} {
		fail = tt.fail
		res, err := http.Get(srv.URL + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		var body struct {
			Status string
			Checks []checkResult
		}
		err = json.NewDecoder(res.Body).Decode(&body)
		res.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if res.StatusCode != tt.want || len(body.Checks) != 1 || body.Checks[0].OK == tt.fail {
			t.Fatalf("fail=%v: status %d body %+v, want %d", tt.fail, res.StatusCode, body, tt.want)
		}
	}
}

func TestPanicAfterWritingAbortsTheResponse(t *testing.T) {
	s := New(Config{})
	s.router.Handle("/test/half", s.handle(func(w http.ResponseWriter, r *http.Request) error {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		w.Write([]byte(`{"items":[`))
		http.NewResponseController(w).Flush() //nolint:errcheck // the test server supports it
		panic("boom mid-stream")
	}))
	srv := httptest.NewServer(s)
	defer srv.Close()
	res, err := http.Get(srv.URL + "/test/half")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err == nil {
		t.Fatalf("a response cut by a panic ended cleanly: %q", body)
	}
	if strings.Contains(string(body), "problem") || strings.Contains(string(body), "Erreur") {
		t.Fatalf("a problem was appended to a partial response: %q", body)
	}
	if res, err := http.Get(srv.URL + "/healthz"); err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("server stopped serving after a mid-stream panic: %v", err)
	}
}
