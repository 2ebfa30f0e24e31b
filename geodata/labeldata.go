package geodata

// This file reads the two hand-written data files about the label itself:
// referentiel.json (categories, enjeux, services numériques and mentions, per
// édition) and label.json (the facts published for each édition: key figures,
// ceremony, sources, named winners). Both are embedded, decoded strictly
// (unknown fields are errors) and validated once on first use.

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
)

//go:embed referentiel.json label.json
var labelFS embed.FS

// Bounds of the label data shipped with Atlaas. The référentiel of 16 enjeux
// and about 139 services dates from the 2017 label (the 18th); every édition
// from 2017 to 2026 is described.
const (
	FirstLabelEdition = 2017
	LastLabelEdition  = 2026
)

// Rules the référentiel must follow in every édition. The label's référentiel
// evolves slowly: services come and go, but never more than a fifth of them
// from one year to the next.
const (
	MinServicesPerEdition      = 136
	MaxServicesPerEdition      = 139
	MinServicesPerEnjeu        = 6
	MaxServicesPerEnjeu        = 12
	MaxReferentielYearlyChange = 0.20
	labelWantEnjeux            = 16
	labelWantCategories        = 4
)

// Mention types: a thematic mention, or a distinction (arobase verte,
// territoire d'excellence numérique).
const (
	MentionTypeMention     = "mention"
	MentionTypeDistinction = "distinction"
)

// Collectivité types used in the palmarès: a commune (INSEE code) or an
// intercommunalité (SIREN of the EPCI).
const (
	CollectiviteTypeCommune = "commune"
	CollectiviteTypeEPCI    = "epci"
)

// ReferentielData is the label's référentiel as Atlaas models it: our own
// French wording on the published structure of 4 categories, 16 enjeux and
// about 139 services per édition, plus the mentions named in the palmarès.
// Values returned by Referentiel share their slices: treat them as read-only.
type ReferentielData struct {
	Source     string      `json:"source"`
	Notes      []string    `json:"notes"`
	Editions   []int       `json:"editions"`
	Categories []Categorie `json:"categories"`
	Enjeux     []Enjeu     `json:"enjeux"`
	Services   []Service   `json:"services"`
	Mentions   []Mention   `json:"mentions"`
}

// Categorie is one of the four groups of enjeux ("Vivre ensemble", …).
type Categorie struct {
	Code string `json:"code"`
	Nom  string `json:"nom"`
}

// Enjeu is one of the 16 transversal issues; every service belongs to one.
// Hypothese marks an enjeu whose name is our assumption, not published.
type Enjeu struct {
	Code        string `json:"code"`
	Nom         string `json:"nom"`
	Categorie   string `json:"categorie"`
	Description string `json:"description"`
	Hypothese   bool   `json:"hypothese,omitempty"`
	Note        string `json:"note,omitempty"`
}

// Service is a service numérique of the référentiel. Its code is stable
// across éditions; Editions is the contiguous, ascending list of the éditions
// in which it exists.
type Service struct {
	Code        string `json:"code"`
	Nom         string `json:"nom"`
	Enjeu       string `json:"enjeu"`
	Description string `json:"description"`
	Editions    []int  `json:"editions"`
}

// InEdition reports whether the service is part of the référentiel of the
// given édition (year).
func (s Service) InEdition(annee int) bool {
	return len(s.Editions) > 0 && annee >= s.Editions[0] && annee <= s.Editions[len(s.Editions)-1]
}

// Mention is a thematic mention or a distinction that the jury awards on top
// of the @ level. ValiditeAns is set for distinctions valid several years
// (territoire d'excellence numérique: 3).
type Mention struct {
	Code        string `json:"code"`
	Nom         string `json:"nom"`
	Type        string `json:"type"`
	ValiditeAns int    `json:"validite_ans,omitempty"`
	Description string `json:"description"`
}

// ServicesIn returns the services of the référentiel of one édition, in
// code order.
func (r ReferentielData) ServicesIn(annee int) []Service {
	var out []Service
	for _, s := range r.Services {
		if s.InEdition(annee) {
			out = append(out, s)
		}
	}
	return out
}

// EnjeuByCode returns the enjeu with that code.
func (r ReferentielData) EnjeuByCode(code string) (Enjeu, bool) {
	for _, e := range r.Enjeux {
		if e.Code == code {
			return e, true
		}
	}
	return Enjeu{}, false
}

// MentionByCode returns the mention or distinction with that code.
func (r ReferentielData) MentionByCode(code string) (Mention, bool) {
	for _, m := range r.Mentions {
		if m.Code == code {
			return m, true
		}
	}
	return Mention{}, false
}

// LabelFacts holds what was published about each édition of the label. The
// demo dataset reproduces these figures and winners; everything else it shows
// is generated. Values returned by Label share their slices: treat them as
// read-only.
type LabelFacts struct {
	Avertissement      string         `json:"avertissement"`
	SourceReferentiel  string         `json:"source_referentiel"`
	CodesCollectivites string         `json:"codes_collectivites"`
	Editions           []EditionFacts `json:"editions"`
}

// EditionFacts is one édition: its rank, ceremony, published key figures,
// where they were read, and the named winners of mentions and distinctions.
// Date is empty when only the month (Mois, "YYYY-MM") is known; Lieu is empty
// when unknown or when the ceremony was held remotely (see LieuNote).
type EditionFacts struct {
	Annee        int           `json:"annee"`
	Numero       int           `json:"numero"`
	Date         string        `json:"date,omitempty"`
	Mois         string        `json:"mois"`
	Lieu         string        `json:"lieu,omitempty"`
	LieuNote     string        `json:"lieu_note,omitempty"`
	Chiffres     Chiffres      `json:"chiffres"`
	ChiffresNote string        `json:"chiffres_note,omitempty"`
	Sources      []LabelSource `json:"sources"`
	SourceNote   string        `json:"source_note,omitempty"`
	Palmares     []Laureat     `json:"palmares"`
	Arobases     []ArobaseFact `json:"arobases"`
}

// Chiffres are an édition's published key figures. A nil field was not
// published. MentionsCounts gives, per mention code, how many collectivités
// received it when the count was published (possibly without all the names).
type Chiffres struct {
	Participants                  *int           `json:"participants,omitempty"`
	ParticipantsVilles            *int           `json:"participants_villes,omitempty"`
	ParticipantsVillages          *int           `json:"participants_villages,omitempty"`
	ParticipantsTerritoires       *int           `json:"participants_territoires,omitempty"`
	CommunesRepresentees          *int           `json:"communes_representees,omitempty"`
	HabitantsEnviron              *int           `json:"habitants_environ,omitempty"`
	Fiches                        *int           `json:"fiches,omitempty"`
	A4Ou5Arobases                 *int           `json:"a_4_ou_5_arobases,omitempty"`
	A5Arobases                    *int           `json:"a_5_arobases,omitempty"`
	VillagesLabellises            *int           `json:"villages_labellises,omitempty"`
	NouveauxTerritoiresExcellence *int           `json:"nouveaux_territoires_excellence,omitempty"`
	TerritoiresExcellence         *int           `json:"territoires_excellence,omitempty"`
	MentionsCounts                map[string]int `json:"mentions_counts,omitempty"`
}

// LabelSource is a page where the édition's facts were read.
type LabelSource struct {
	URL   string `json:"url"`
	Titre string `json:"titre"`
}

// Laureat is a named winner of a mention or distinction. IntitulePublie keeps
// the published wording when it differs from the mention's name.
type Laureat struct {
	Distinction    string          `json:"distinction"`
	IntitulePublie string          `json:"intitule_publie,omitempty"`
	Collectivite   CollectiviteRef `json:"collectivite"`
}

// CollectiviteRef names a collectivité as published, with the code we
// resolved: INSEE code for a commune, SIREN for an EPCI. Code is empty when
// we could not identify it with confidence, and Note then says why; CodeNote
// explains a match that needed a judgement (homonyms, renamed EPCI).
type CollectiviteRef struct {
	Nom      string `json:"nom"`
	Code     string `json:"code"`
	Type     string `json:"type"`
	CodeNote string `json:"code_note,omitempty"`
	Note     string `json:"note,omitempty"`
}

// ArobaseFact is an individual @ level that was published. Nouveau is true
// when the collectivité was newly labelled that year, nil when not published.
type ArobaseFact struct {
	Collectivite CollectiviteRef `json:"collectivite"`
	Arobases     int             `json:"arobases"`
	Nouveau      *bool           `json:"nouveau"`
}

// Edition returns the facts of one édition (year).
func (l LabelFacts) Edition(annee int) (EditionFacts, bool) {
	for _, e := range l.Editions {
		if e.Annee == annee {
			return e, true
		}
	}
	return EditionFacts{}, false
}

// CeremonyDate returns the ceremony's date when the day is known.
func (e EditionFacts) CeremonyDate() (time.Time, bool) {
	if e.Date == "" {
		return time.Time{}, false
	}
	t, err := time.Parse(time.DateOnly, e.Date)
	return t, err == nil
}

var (
	labelReferentielOnce = sync.OnceValues(func() (ReferentielData, error) {
		r, err := decodeLabelFile[ReferentielData]("referentiel.json")
		if err != nil {
			return ReferentielData{}, err
		}
		if err := r.Validate(); err != nil {
			return ReferentielData{}, fmt.Errorf("geodata: referentiel.json: %w", err)
		}
		return r, nil
	})
	labelOnce = sync.OnceValues(func() (LabelFacts, error) {
		r, err := Referentiel()
		if err != nil {
			return LabelFacts{}, err
		}
		l, err := decodeLabelFile[LabelFacts]("label.json")
		if err != nil {
			return LabelFacts{}, err
		}
		if err := l.Validate(r); err != nil {
			return LabelFacts{}, fmt.Errorf("geodata: label.json: %w", err)
		}
		return l, nil
	})
)

// Referentiel returns the embedded référentiel, decoded and validated once.
func Referentiel() (ReferentielData, error) { return labelReferentielOnce() }

// Label returns the embedded published facts of every édition, decoded and
// validated (against the référentiel) once.
func Label() (LabelFacts, error) { return labelOnce() }

// decodeLabelFile decodes one embedded file into a fresh value, rejecting
// unknown fields and trailing data so that a typo in a key fails loudly.
func decodeLabelFile[T any](name string) (T, error) {
	var v T
	b, err := labelFS.ReadFile(name)
	if err != nil {
		return v, fmt.Errorf("geodata: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		return v, fmt.Errorf("geodata: decoding %s: %w", name, err)
	}
	if dec.More() {
		return v, fmt.Errorf("geodata: decoding %s: trailing data", name)
	}
	return v, nil
}

// Validate checks the référentiel's invariants: 4 categories and 16 enjeux
// with unique codes, every service under a known enjeu with a contiguous
// range of éditions, 136–139 services and 6–12 per enjeu in every édition
// 2017–2026, no more than 20 % change between consecutive éditions, and
// well-formed mentions. It reports every problem found, not just the first.
func (r ReferentielData) Validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }

	if r.Source == "" {
		bad("missing source note")
	}
	if want := labelEditionRange(); !slices.Equal(r.Editions, want) {
		bad("editions = %v, want %v", r.Editions, want)
	}

	cats := map[string]bool{}
	if len(r.Categories) != labelWantCategories {
		bad("%d categories, want %d", len(r.Categories), labelWantCategories)
	}
	for _, c := range r.Categories {
		if c.Code == "" || c.Nom == "" {
			bad("category %q: empty code or nom", c.Code)
		}
		if cats[c.Code] {
			bad("category %q: duplicate code", c.Code)
		}
		cats[c.Code] = true
	}

	enjeux := map[string]bool{}
	usedCats := map[string]bool{}
	if len(r.Enjeux) != labelWantEnjeux {
		bad("%d enjeux, want %d", len(r.Enjeux), labelWantEnjeux)
	}
	for _, e := range r.Enjeux {
		if e.Code == "" || e.Nom == "" || e.Description == "" {
			bad("enjeu %q: empty code, nom or description", e.Code)
		}
		if enjeux[e.Code] {
			bad("enjeu %q: duplicate code", e.Code)
		}
		enjeux[e.Code] = true
		if !cats[e.Categorie] {
			bad("enjeu %q: unknown category %q", e.Code, e.Categorie)
		}
		usedCats[e.Categorie] = true
		if e.Hypothese && e.Note == "" {
			bad("enjeu %q: hypothese without a note", e.Code)
		}
	}
	for c := range cats {
		if !usedCats[c] {
			bad("category %q has no enjeu", c)
		}
	}

	services := map[string]bool{}
	for _, s := range r.Services {
		if s.Code == "" || s.Nom == "" || s.Description == "" {
			bad("service %q: empty code, nom or description", s.Code)
		}
		if services[s.Code] {
			bad("service %q: duplicate code", s.Code)
		}
		services[s.Code] = true
		if !enjeux[s.Enjeu] {
			bad("service %q: unknown enjeu %q", s.Code, s.Enjeu)
		}
		if err := labelCheckContiguous(s.Editions); err != nil {
			bad("service %q: %v", s.Code, err)
		}
	}

	var prev map[string]bool
	for annee := FirstLabelEdition; annee <= LastLabelEdition; annee++ {
		cur := map[string]bool{}
		perEnjeu := map[string]int{}
		for _, s := range r.Services {
			if s.InEdition(annee) {
				cur[s.Code] = true
				perEnjeu[s.Enjeu]++
			}
		}
		if n := len(cur); n < MinServicesPerEdition || n > MaxServicesPerEdition {
			bad("édition %d: %d services, want %d–%d", annee, n, MinServicesPerEdition, MaxServicesPerEdition)
		}
		for _, e := range r.Enjeux {
			if n := perEnjeu[e.Code]; n < MinServicesPerEnjeu || n > MaxServicesPerEnjeu {
				bad("édition %d: enjeu %q has %d services, want %d–%d", annee, e.Code, n, MinServicesPerEnjeu, MaxServicesPerEnjeu)
			}
		}
		if prev != nil && len(prev) > 0 {
			removed, added := labelSetDiff(prev, cur), labelSetDiff(cur, prev)
			if change := float64(removed+added) / float64(len(prev)); change > MaxReferentielYearlyChange {
				bad("édition %d: référentiel changed by %.0f %% (%d removed, %d added), more than %.0f %%",
					annee, 100*change, removed, added, 100*MaxReferentielYearlyChange)
			}
		}
		prev = cur
	}

	mentions := map[string]bool{}
	for _, m := range r.Mentions {
		if m.Code == "" || m.Nom == "" {
			bad("mention %q: empty code or nom", m.Code)
		}
		if mentions[m.Code] {
			bad("mention %q: duplicate code", m.Code)
		}
		mentions[m.Code] = true
		if m.Type != MentionTypeMention && m.Type != MentionTypeDistinction {
			bad("mention %q: type %q, want %q or %q", m.Code, m.Type, MentionTypeMention, MentionTypeDistinction)
		}
		if m.ValiditeAns < 0 {
			bad("mention %q: negative validite_ans", m.Code)
		}
	}
	return errors.Join(errs...)
}

var (
	labelMoisRe  = regexp.MustCompile(`^\d{4}-(0[1-9]|1[0-2])$`)
	labelInseeRe = regexp.MustCompile(`^(\d{5}|2[AB]\d{3})$`)
	labelSirenRe = regexp.MustCompile(`^\d{9}$`)
)

// labelNumero is the rank of the label of a year: 2017 was the 18th.
func labelNumero(annee int) int { return annee - 1999 }

// Validate checks the published facts against the référentiel: every édition
// 2017–2026 present once with the right rank (2017 is the 18th), consistent
// date and month, sources (or a note saying none was found), palmarès
// distinctions that are known mention codes, collectivités with a well-formed
// code or a note explaining its absence, and named winners no more numerous
// than a published count. It reports every problem found.
func (l LabelFacts) Validate(r ReferentielData) error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }

	if l.Avertissement == "" {
		bad("missing avertissement")
	}
	mentions := map[string]bool{}
	for _, m := range r.Mentions {
		mentions[m.Code] = true
	}

	seen := map[int]bool{}
	for _, e := range l.Editions {
		where := fmt.Sprintf("édition %d", e.Annee)
		if e.Annee < FirstLabelEdition || e.Annee > LastLabelEdition {
			bad("%s: outside %d–%d", where, FirstLabelEdition, LastLabelEdition)
		}
		if seen[e.Annee] {
			bad("%s: duplicate", where)
		}
		seen[e.Annee] = true
		if want := labelNumero(e.Annee); e.Numero != want {
			bad("%s: numero %d, want %d", where, e.Numero, want)
		}
		if !labelMoisRe.MatchString(e.Mois) || !strings.HasPrefix(e.Mois, fmt.Sprint(e.Annee)) {
			bad("%s: mois %q is not a month of %d", where, e.Mois, e.Annee)
		}
		if e.Date != "" {
			t, ok := e.CeremonyDate()
			if !ok {
				bad("%s: date %q is not YYYY-MM-DD", where, e.Date)
			} else if t.Format("2006-01") != e.Mois {
				bad("%s: date %s is not in mois %s", where, e.Date, e.Mois)
			}
		}
		if len(e.Sources) == 0 && e.SourceNote == "" {
			bad("%s: no source and no source_note", where)
		}
		for _, s := range e.Sources {
			if !strings.HasPrefix(s.URL, "https://") && !strings.HasPrefix(s.URL, "http://") {
				bad("%s: source URL %q is not http(s)", where, s.URL)
			}
			if s.Titre == "" {
				bad("%s: source %q has no titre", where, s.URL)
			}
		}
		errs = append(errs, e.Chiffres.validate(where, mentions)...)

		named := map[string]int{}
		for _, p := range e.Palmares {
			if !mentions[p.Distinction] {
				bad("%s: palmarès distinction %q is not a mention code of the référentiel", where, p.Distinction)
			}
			named[p.Distinction]++
			if err := p.Collectivite.validate(); err != nil {
				bad("%s: palmarès %s: %v", where, p.Distinction, err)
			}
		}
		for code, n := range named {
			if published, ok := e.Chiffres.MentionsCounts[code]; ok && n > published {
				bad("%s: %d named winners of %q but %d published", where, n, code, published)
			}
		}
		for _, a := range e.Arobases {
			if a.Arobases < 1 || a.Arobases > 5 {
				bad("%s: %s has %d @, want 1–5", where, a.Collectivite.Nom, a.Arobases)
			}
			if err := a.Collectivite.validate(); err != nil {
				bad("%s: arobases: %v", where, err)
			}
		}
	}
	for annee := FirstLabelEdition; annee <= LastLabelEdition; annee++ {
		if !seen[annee] {
			bad("édition %d: missing", annee)
		}
	}
	return errors.Join(errs...)
}

// validate checks that published figures are positive and that mention
// counts refer to known mentions.
func (c Chiffres) validate(where string, mentions map[string]bool) []error {
	var errs []error
	for name, v := range map[string]*int{
		"participants": c.Participants, "participants_villes": c.ParticipantsVilles,
		"participants_villages": c.ParticipantsVillages, "participants_territoires": c.ParticipantsTerritoires,
		"communes_representees": c.CommunesRepresentees, "habitants_environ": c.HabitantsEnviron,
		"fiches": c.Fiches, "a_4_ou_5_arobases": c.A4Ou5Arobases, "a_5_arobases": c.A5Arobases,
		"villages_labellises": c.VillagesLabellises, "nouveaux_territoires_excellence": c.NouveauxTerritoiresExcellence,
		"territoires_excellence": c.TerritoiresExcellence,
	} {
		if v != nil && *v <= 0 {
			errs = append(errs, fmt.Errorf("%s: chiffres.%s = %d, want > 0", where, name, *v))
		}
	}
	for code, n := range c.MentionsCounts {
		if !mentions[code] {
			errs = append(errs, fmt.Errorf("%s: mentions_counts: unknown mention %q", where, code))
		}
		if n <= 0 {
			errs = append(errs, fmt.Errorf("%s: mentions_counts[%q] = %d, want > 0", where, code, n))
		}
	}
	return errs
}

// validate checks a collectivité reference: a known type, and a code of the
// right shape for it, or no code and a note saying why.
func (c CollectiviteRef) validate() error {
	if c.Nom == "" {
		return errors.New("collectivité without a nom")
	}
	switch c.Type {
	case CollectiviteTypeCommune, CollectiviteTypeEPCI:
	default:
		return fmt.Errorf("%s: type %q, want %q or %q", c.Nom, c.Type, CollectiviteTypeCommune, CollectiviteTypeEPCI)
	}
	switch {
	case c.Code == "":
		if c.Note == "" {
			return fmt.Errorf("%s: no code and no note explaining why", c.Nom)
		}
	case c.Type == CollectiviteTypeCommune && !labelInseeRe.MatchString(c.Code):
		return fmt.Errorf("%s: %q is not an INSEE commune code", c.Nom, c.Code)
	case c.Type == CollectiviteTypeEPCI && !labelSirenRe.MatchString(c.Code):
		return fmt.Errorf("%s: %q is not a SIREN", c.Nom, c.Code)
	}
	return nil
}

// labelCheckContiguous reports whether éditions is a non-empty, ascending run of
// consecutive years within the label data's bounds.
func labelCheckContiguous(editions []int) error {
	if len(editions) == 0 {
		return errors.New("no édition")
	}
	for i, y := range editions {
		if y < FirstLabelEdition || y > LastLabelEdition {
			return fmt.Errorf("édition %d outside %d–%d", y, FirstLabelEdition, LastLabelEdition)
		}
		if i > 0 && y != editions[i-1]+1 {
			return fmt.Errorf("éditions %v are not a contiguous range", editions)
		}
	}
	return nil
}

// labelEditionRange lists the years FirstLabelEdition..LastLabelEdition.
func labelEditionRange() []int {
	var out []int
	for y := FirstLabelEdition; y <= LastLabelEdition; y++ {
		out = append(out, y)
	}
	return out
}

// labelSetDiff counts the keys of a that are not in b.
func labelSetDiff(a, b map[string]bool) int {
	n := 0
	for k := range a {
		if !b[k] {
			n++
		}
	}
	return n
}
