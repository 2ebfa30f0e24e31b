package atlaas

import (
	"encoding/json"
	"time"

	"github.com/paulmach/orb"
)

// Kinds of collectivité.
const (
	KindCommune = "commune" // identified by its INSEE code
	KindEPCI    = "epci"    // an intercommunalité, identified by its SIREN
)

// Label categories of a collectivité.
const (
	CategorieVillage    = "village"    // a commune under the village threshold
	CategorieVille      = "ville"      // a commune at or over it
	CategorieTerritoire = "territoire" // an intercommunalité
)

// DefaultVillageThreshold is the population under which a commune competes as a village. The
// label does not publish its exact threshold; 3,500 is the usual French administrative one.
const DefaultVillageThreshold = 3500

// CategorieOf returns the label category of a collectivité of the given kind and population.
func CategorieOf(kind string, population, villageThreshold int) string {
	switch {
	case kind == KindEPCI:
		return CategorieTerritoire
	case population < villageThreshold:
		return CategorieVillage
	default:
		return CategorieVille
	}
}

// Where a point comes from. A collectivité or fiche with no source for its point has none.
const (
	PrecisionNone          = "none"
	PrecisionGeonames      = "geonames"       // a commune's centre from GeoNames
	PrecisionDerived       = "derived"        // an EPCI's population-weighted centre of its members
	PrecisionImport        = "import"         // given by an import
	PrecisionCollectivite  = "collectivite"   // a fiche at its collectivité's centre
	PrecisionCommuneMembre = "commune_membre" // a fiche of an EPCI at one of its member communes
	PrecisionLieu          = "lieu"           // a fiche at its own place
)

// Where a row comes from.
const (
	SourcePublie = "publie" // a fact the label published
	SourceDemo   = "demo"   // generated demonstration data
	SourceImport = "import" // imported real data
	SourceAPI    = "api"    // written through the API
)

// Statuts of a fiche.
const (
	StatutProjet    = "projet"
	StatutEnCours   = "en_cours"
	StatutRealise   = "realise"
	StatutAbandonne = "abandonne"
)

// Region is a French région, with its boundary as a GeoJSON MultiPolygon.
type Region struct {
	Code     string
	Nom      string
	Geometry json.RawMessage
}

// Departement is a French département, with its boundary as a GeoJSON MultiPolygon.
type Departement struct {
	Code     string
	Nom      string
	Region   string
	Geometry json.RawMessage
}

// Collectivite is a commune or an intercommunalité.
type Collectivite struct {
	Code         string // INSEE code of a commune, SIREN of an EPCI
	Kind         string
	Nom          string
	Categorie    string
	Population   int
	Departement  string
	Region       string
	EPCI         string // SIREN of the commune's EPCI, if any
	SIREN        string
	CodesPostaux []string
	// Point is the centre, nil when no source gives one; Precision says where it comes from.
	Point     *orb.Point
	Precision string
}

// Edition is one year of the label.
type Edition struct {
	Annee         int
	Numero        int
	CeremonieDate time.Time // zero when unknown
	CeremonieMois string    // "2025-02" when only the month is known
	Lieu          string
	// Chiffres are the published key figures, Sources where they were published (JSON).
	Chiffres json.RawMessage
	Sources  json.RawMessage
}

// Categorie groups enjeux.
type Categorie struct {
	Code  string
	Nom   string
	Ordre int
}

// Enjeu is one of the transversal issues of the référentiel.
type Enjeu struct {
	Code        string
	Nom         string
	Categorie   string
	Description string
	Hypothese   bool // our assumption rather than published by the label
	Ordre       int
}

// Service is a service numérique of the référentiel, under one enjeu, existing in some éditions.
type Service struct {
	Code        string
	Nom         string
	Description string
	Enjeu       string
	Editions    []int
	Ordre       int
}

// Mention is a thematic mention or a distinction the jury awards.
type Mention struct {
	Code string
	Nom  string
	Kind string // "mention" or "distinction"
}

// Participation is a collectivité in an édition.
type Participation struct {
	Collectivite         string
	Annee                int
	Arobases             int
	ArobaseVerte         bool
	TerritoireExcellence bool // awarded at this édition (valid three éditions)
	Nouveau              bool // first labelled at this édition
	Source               string
}

// PalmaresEntry is one mention or distinction awarded at an édition.
type PalmaresEntry struct {
	Annee        int
	Mention      string
	Collectivite string // "" when the published winner's code is unknown
	NomPublie    string
	Source       string
}

// Fiche is an initiative of a collectivité.
type Fiche struct {
	ID              int64
	Collectivite    string
	Titre           string
	SousTitre       string
	Synthese        string
	Actions         string
	Resultats       string
	Recommandations string
	Outils          string
	Statut          string
	DateDebut       time.Time // zero when unknown
	DateFin         time.Time // zero when unknown or ongoing
	PublicVise      []string
	Partenaires     []string
	Prestataires    []string
	Liens           []string
	Point           *orb.Point
	Precision       string
	Source          string
	CreatedAt       time.Time
	UpdatedAt       time.Time
	Version         int
	Services        []string // codes, at least one
	Editions        []int    // the éditions in which it was published or updated
}

// Reference is the real data every database starts from: geography, the référentiel and the
// label's published facts.
type Reference struct {
	Regions       []Region
	Departements  []Departement
	Collectivites []Collectivite
	Editions      []Edition
	Categories    []Categorie
	Enjeux        []Enjeu
	Services      []Service
	Mentions      []Mention
	// Published facts: the palmarès and the few @ levels the label published by name.
	Palmares       []PalmaresEntry
	Participations []Participation
}
