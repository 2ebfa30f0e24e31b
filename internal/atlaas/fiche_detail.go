package atlaas

import "time"

// FicheDetail is a whole fiche as GET /api/v1/fiches/{id} shows it: its text, its collectivité
// and its services with their enjeux named, so a client needs no other request to display it.
// Lists are never null (empty arrays), dates are "2006-01-02" and omitted when unknown.
type FicheDetail struct {
	ID              int64    `json:"id"`
	Titre           string   `json:"titre"`
	SousTitre       string   `json:"sous_titre"`
	Synthese        string   `json:"synthese"`
	Actions         string   `json:"actions"`
	Resultats       string   `json:"resultats"`
	Recommandations string   `json:"recommandations"`
	Outils          string   `json:"outils"`
	Statut          string   `json:"statut"`
	DateDebut       string   `json:"date_debut,omitempty"`
	DateFin         string   `json:"date_fin,omitempty"`
	PublicVise      []string `json:"public_vise"`
	Partenaires     []string `json:"partenaires"`
	Prestataires    []string `json:"prestataires"`
	Liens           []string `json:"liens"`
	// Point is null when the fiche has no place.
	Point  *FichePoint `json:"point"`
	Source string      `json:"source"`
	// Demonstration is true for generated data (Source "demo"), so every client can say so.
	Demonstration bool              `json:"demonstration"`
	CreatedAt     time.Time         `json:"created_at"`
	UpdatedAt     time.Time         `json:"updated_at"`
	Version       int               `json:"version"` // to send back in If-Match when updating
	Collectivite  FicheCollectivite `json:"collectivite"`
	// Services are in the référentiel's order (enjeu, then service).
	Services []FicheService `json:"services"`
	Annees   []int          `json:"annees"` // éditions in which the fiche was published or updated, ascending
}

// FichePoint is where a fiche is, and where that place comes from (a Precision* constant).
type FichePoint struct {
	Lon       float64 `json:"lon"`
	Lat       float64 `json:"lat"`
	Precision string  `json:"precision"`
}

// FicheCollectivite is the collectivité of a fiche, with its département and région named.
// Population is omitted when unknown; département and région when the collectivité has none
// (an intercommunalité across départements).
type FicheCollectivite struct {
	Code           string `json:"code"`
	Nom            string `json:"nom"`
	Kind           string `json:"kind"`
	Categorie      string `json:"categorie"`
	Population     *int   `json:"population,omitempty"`
	Departement    string `json:"departement,omitempty"`
	DepartementNom string `json:"departement_nom,omitempty"`
	Region         string `json:"region,omitempty"`
	RegionNom      string `json:"region_nom,omitempty"`
}

// FicheService is a service of a fiche with its enjeu.
type FicheService struct {
	Code     string `json:"code"`
	Nom      string `json:"nom"`
	Enjeu    string `json:"enjeu"`
	EnjeuNom string `json:"enjeu_nom"`
}
