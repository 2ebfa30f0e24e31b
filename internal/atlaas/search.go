package atlaas

import (
	"time"

	"github.com/paulmach/orb"
)

// FicheDocument is what the search index knows of a fiche: its text, and the facets of its
// collectivité and éditions, denormalised.
type FicheDocument struct {
	ID              int64
	Titre           string
	SousTitre       string
	Synthese        string
	Actions         string
	Resultats       string
	Statut          string
	Source          string
	Collectivite    string // code
	CollectiviteNom string
	Categorie       string
	Population      int
	Departement     string
	Region          string
	Services        []string    // codes
	Enjeux          []string    // codes, of the services
	Annees          []int       // éditions in which the fiche was published or updated
	Arobases        map[int]int // the collectivité's @ level at each of those éditions it took part in
	Mentions        []string    // mentions and distinctions the collectivité received at those éditions
	Point           *orb.Point
	UpdatedAt       time.Time
	DateDebut       time.Time // zero when unknown
}

// OutboxEntry is one change a follower (the search index) must apply.
type OutboxEntry struct {
	ID       int64
	Entity   string // "fiche" or "collectivite"
	EntityID string
	Op       string // "upsert" or "delete"
	// Settled is true once the row is over 5 minutes old. Ids are taken before commit, so a row
	// with a smaller id may still appear while a writing transaction runs; a follower stores its
	// position only past settled rows and replays the rest, which is idempotent.
	Settled bool
}

// Population bands of the search facets, by lower bound.
var PopulationBands = []struct {
	Code  string
	Label string
	Min   int
}{
	{"0-999", "moins de 1 000 hab.", 0},
	{"1000-3499", "1 000 à 3 499 hab.", 1000},
	{"3500-9999", "3 500 à 9 999 hab.", 3500},
	{"10000-49999", "10 000 à 49 999 hab.", 10000},
	{"50000-99999", "50 000 à 99 999 hab.", 50000},
	{"100000+", "100 000 hab. et plus", 100000},
}

// PopulationBand returns the code of the band a population falls in.
func PopulationBand(population int) string {
	code := PopulationBands[0].Code
	for _, b := range PopulationBands {
		if population >= b.Min {
			code = b.Code
		}
	}
	return code
}

// Search facets, in the order the API lists them.
const (
	FacetEnjeu        = "enjeu"
	FacetService      = "service"
	FacetRegion       = "region"
	FacetDepartement  = "departement"
	FacetCollectivite = "collectivite"
	FacetCategorie    = "categorie"
	FacetPopulation   = "population"
	FacetArobases     = "arobases"
	FacetAnnee        = "annee"
	FacetMention      = "mention"
	FacetStatut       = "statut"
)

// Facets lists every facet of the fiche search.
var Facets = []string{FacetEnjeu, FacetService, FacetRegion, FacetDepartement, FacetCollectivite,
	FacetCategorie, FacetPopulation, FacetArobases, FacetAnnee, FacetMention, FacetStatut}

// Sort orders of the fiche search.
const (
	SortRelevance = "pertinence"
	SortRecent    = "recent"
	SortDistance  = "distance"
)

// Limits of the fiche search.
const (
	MaxSearchLimit     = 100
	DefaultSearchLimit = 20
	MaxQueryLength     = 500
)

// FicheFilter is a fiche search: free text, facet filters (OR within a facet, AND across
// facets), geography, order and page.
type FicheFilter struct {
	Q       string
	Filters map[string][]string // facet → selected values
	BBox    *orb.Bound
	Near    *orb.Point
	Km      float64 // radius around Near
	Sort    string
	Limit   int
	Cursor  string // opaque, from a previous page's NextCursor
}

// FicheSelection is the fiches a search filter selects, for the paths served from the database
// (tiles, exports, OGC items): the same facets and geography, applied in SQL, and the matches of
// its text resolved by the search index into ids.
type FicheSelection struct {
	Filter FicheFilter // its Q, Sort, Limit and Cursor are not applied in SQL
	// IDs, when not nil, restricts the selection to these fiches (the matches of Filter.Q); an
	// empty non-nil slice selects nothing.
	IDs []int64
}

// FacetValue is one value of a facet with the number of fiches that have it.
type FacetValue struct {
	Value    string `json:"value"`
	Label    string `json:"label"`
	Count    int    `json:"count"`
	Selected bool   `json:"selected,omitempty"`
}

// FicheHit is one fiche in a search result.
type FicheHit struct {
	ID              int64               `json:"id"`
	Titre           string              `json:"titre"`
	SousTitre       string              `json:"sous_titre,omitempty"`
	Collectivite    string              `json:"collectivite"`
	CollectiviteNom string              `json:"collectivite_nom"`
	Services        []string            `json:"services"`
	Enjeux          []string            `json:"enjeux"`
	Annees          []int               `json:"annees"`
	Statut          string              `json:"statut"`
	Source          string              `json:"source"`
	Point           *orb.Point          `json:"-"`
	Score           float64             `json:"score,omitempty"`
	DistanceKm      *float64            `json:"distance_km,omitempty"`
	Highlights      map[string][]string `json:"highlights,omitempty"`
}

// FicheSearchResult is one page of a fiche search.
type FicheSearchResult struct {
	Total      int                     `json:"total"`
	Items      []FicheHit              `json:"items"`
	Facets     map[string][]FacetValue `json:"facets"`
	NextCursor string                  `json:"next_cursor,omitempty"`
}

// Suggestion is one entry of the search box's suggestions.
type Suggestion struct {
	Kind  string `json:"kind"` // "collectivite", "service" or "fiche"
	Value string `json:"value"`
	Label string `json:"label"`
}
