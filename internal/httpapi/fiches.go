package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"atlaas/internal/atlaas"
)

// Searcher is the search index, as the handlers use it.
type Searcher interface {
	Search(ctx context.Context, f atlaas.FicheFilter) (atlaas.FicheSearchResult, error)
	Suggest(ctx context.Context, q string) ([]atlaas.Suggestion, error)
	Connexes(ctx context.Context, d atlaas.FicheDocument) ([]atlaas.FicheHit, error)
	// Validate checks a filter's text and facet values, without needing the index.
	Validate(ctx context.Context, f atlaas.FicheFilter) error
	// MatchingIDs returns the ids of every fiche matching a filter, ascending.
	MatchingIDs(ctx context.Context, f atlaas.FicheFilter) ([]int64, error)
	// Generation names the state of the data the index reflects ("" when none is ready): it
	// changes within a second of any change to a fiche or collectivité.
	Generation() string
}

// Store is the database, as the handlers use it.
type Store interface {
	Fiche(ctx context.Context, id int64) (atlaas.FicheDetail, error)
	FicheDocumentsByID(ctx context.Context, ids []int64) ([]atlaas.FicheDocument, error)
}

// demoNotice is shown with any answer holding demonstration data.
const demoNotice = "Données de démonstration : participations et fiches générées à partir des chiffres publiés du label, sur la géographie réelle. Elles ne décrivent pas des actions réelles."

type searchResponse struct {
	atlaas.FicheSearchResult
	Avertissement string `json:"avertissement,omitempty"`
}

// searchFiches answers GET /api/v1/fiches, in JSON or as a GeoJSON FeatureCollection.
func (s *Server) searchFiches(w http.ResponseWriter, r *http.Request) error {
	q, err := newQuery(r.URL.RawQuery, ficheFilterParams("format")...)
	if err != nil {
		return err
	}
	f, err := ficheFilter(q)
	if err != nil {
		return err
	}
	geojson, err := wantsGeoJSON(r, q)
	if err != nil {
		return err
	}
	res, err := s.searcher.Search(r.Context(), f)
	if err != nil {
		return err
	}
	notice := ""
	for _, h := range res.Items {
		if h.Source == atlaas.SourceDemo {
			notice = demoNotice
			break
		}
	}
	if geojson {
		return writeCached(w, r, "application/geo+json", featureCollection(res, notice))
	}
	return writeCached(w, r, "application/json", searchResponse{res, notice})
}

// wantsGeoJSON reads format=json|geojson, or the Accept header when format is absent.
func wantsGeoJSON(r *http.Request, q query) (bool, error) {
	switch q.get("format") {
	case "geojson":
		return true, nil
	case "json":
		return false, nil
	case "":
		return strings.Contains(r.Header.Get("Accept"), "application/geo+json"), nil
	}
	return false, atlaas.ParamErrorf(atlaas.EINVALID, "format", "Format inconnu « %s » : json ou geojson.", q.get("format"))
}

type feature struct {
	Type       string          `json:"type"`
	ID         int64           `json:"id"`
	Geometry   *pointGeometry  `json:"geometry"`
	Properties atlaas.FicheHit `json:"properties"`
}

type pointGeometry struct {
	Type        string     `json:"type"`
	Coordinates [2]float64 `json:"coordinates"`
}

type featureCollectionBody struct {
	Type          string    `json:"type"`
	Features      []feature `json:"features"`
	Total         int       `json:"total"`
	NextCursor    string    `json:"next_cursor,omitempty"`
	Avertissement string    `json:"avertissement,omitempty"`
}

func featureCollection(res atlaas.FicheSearchResult, notice string) featureCollectionBody {
	fc := featureCollectionBody{Type: "FeatureCollection", Features: make([]feature, 0, len(res.Items)),
		Total: res.Total, NextCursor: res.NextCursor, Avertissement: notice}
	for _, h := range res.Items {
		f := feature{Type: "Feature", ID: h.ID, Properties: h}
		if h.Point != nil {
			f.Geometry = &pointGeometry{Type: "Point", Coordinates: [2]float64{h.Point.Lon(), h.Point.Lat()}}
		}
		fc.Features = append(fc.Features, f)
	}
	return fc
}

// ficheID reads the {id} path parameter.
func ficheID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(pathParam(r, "id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, atlaas.ParamErrorf(atlaas.EINVALID, "id", "Identifiant de fiche invalide : « %s ».", pathParam(r, "id"))
	}
	return id, nil
}

// getFiche answers GET /api/v1/fiches/{id}.
func (s *Server) getFiche(w http.ResponseWriter, r *http.Request) error {
	if _, err := newQuery(r.URL.RawQuery); err != nil {
		return err
	}
	id, err := ficheID(r)
	if err != nil {
		return err
	}
	f, err := s.store.Fiche(r.Context(), id)
	if err != nil {
		return err
	}
	if f.Source == atlaas.SourceDemo {
		return writeCached(w, r, "application/json", struct {
			atlaas.FicheDetail
			Avertissement string `json:"avertissement"`
		}{f, demoNotice})
	}
	return writeCached(w, r, "application/json", f)
}

// ficheConnexes answers GET /api/v1/fiches/{id}/connexes.
func (s *Server) ficheConnexes(w http.ResponseWriter, r *http.Request) error {
	if _, err := newQuery(r.URL.RawQuery); err != nil {
		return err
	}
	id, err := ficheID(r)
	if err != nil {
		return err
	}
	docs, err := s.store.FicheDocumentsByID(r.Context(), []int64{id})
	if err != nil {
		return err
	}
	if len(docs) == 0 {
		return atlaas.Errorf(atlaas.ENOTFOUND, "Aucune fiche n° %d.", id)
	}
	hits, err := s.searcher.Connexes(r.Context(), docs[0])
	if err != nil {
		return err
	}
	return writeCached(w, r, "application/json", struct {
		Items []atlaas.FicheHit `json:"items"`
	}{hits})
}

// suggest answers GET /api/v1/suggest?q=.
func (s *Server) suggest(w http.ResponseWriter, r *http.Request) error {
	q, err := newQuery(r.URL.RawQuery, "q")
	if err != nil {
		return err
	}
	text := q.get("q")
	if len([]rune(text)) > 100 {
		return atlaas.ParamErrorf(atlaas.EINVALID, "q", "La saisie dépasse 100 caractères.")
	}
	items, err := s.searcher.Suggest(r.Context(), text)
	if err != nil {
		return err
	}
	return writeCached(w, r, "application/json", struct {
		Items []atlaas.Suggestion `json:"items"`
	}{items})
}

// writeCached encodes v fully, then writes it with an ETag of its content and a short public
// cache lifetime; a matching If-None-Match gets 304 without a body.
func writeCached(w http.ResponseWriter, r *http.Request, contentType string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	etag := `"` + contentHash(b) + `"`
	h := w.Header()
	h.Set("ETag", etag)
	h.Set("Cache-Control", "public, max-age=30")
	h.Set("Vary", "Accept")
	if match := r.Header.Get("If-None-Match"); match != "" && etagMatches(match, etag) {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	h.Set("Content-Type", contentType)
	w.WriteHeader(http.StatusOK)
	_, err = w.Write(append(b, '\n'))
	return err
}

func etagMatches(header, etag string) bool {
	for _, part := range strings.Split(header, ",") {
		p := strings.TrimPrefix(strings.TrimSpace(part), "W/")
		if p == etag || p == "*" {
			return true
		}
	}
	return false
}
