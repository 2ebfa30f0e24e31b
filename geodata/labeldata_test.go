package geodata

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func TestReferentielLoadsAndValidates(t *testing.T) {
	r, err := Referentiel()
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Categories) != 4 || len(r.Enjeux) != 16 {
		t.Fatalf("got %d categories, %d enjeux; want 4, 16", len(r.Categories), len(r.Enjeux))
	}
	wantCats := []string{"Démocratie et services publics", "Vivre ensemble", "Partage des connaissances", "Création de richesses"}
	for i, c := range r.Categories {
		if c.Nom != wantCats[i] {
			t.Errorf("category %d = %q, want %q", i, c.Nom, wantCats[i])
		}
	}
	// The 15 published enjeux, plus our hypothesis for the 16th.
	published := []string{"Emploi", "Culture et patrimoine", "Services publics", "Identités, droits et libertés",
		"Éducation", "Démocratie locale", "Coopération", "Vie quotidienne", "Développement économique",
		"Solidarités", "Vie associative", "Cohésion sociale", "Attractivité", "Médiation", "Innovation"}
	names := map[string]Enjeu{}
	for _, e := range r.Enjeux {
		names[e.Nom] = e
	}
	for _, n := range published {
		if e, ok := names[n]; !ok || e.Hypothese {
			t.Errorf("published enjeu %q missing or marked as hypothesis", n)
		}
	}
	if e, ok := r.EnjeuByCode("transition-ecologique"); !ok || !e.Hypothese || e.Note == "" {
		t.Errorf("transition-ecologique = %+v, want an enjeu marked hypothese with a note", e)
	}
	for _, e := range r.Enjeux {
		if e.Hypothese && e.Code != "transition-ecologique" {
			t.Errorf("enjeu %q unexpectedly marked hypothese", e.Code)
		}
	}
}

// TestReferentielEvolution pins the shape of our référentiel's history: every
// édition has 136–139 services, and each year retires 2–4 and adds 2–5.
func TestReferentielEvolution(t *testing.T) {
	r, err := Referentiel()
	if err != nil {
		t.Fatal(err)
	}
	var prev map[string]bool
	for annee := FirstLabelEdition; annee <= LastLabelEdition; annee++ {
		cur := map[string]bool{}
		for _, s := range r.ServicesIn(annee) {
			cur[s.Code] = true
		}
		if n := len(cur); n < 136 || n > 139 {
			t.Errorf("édition %d: %d services, want 136–139", annee, n)
		}
		if prev != nil {
			removed, added := labelSetDiff(prev, cur), labelSetDiff(cur, prev)
			if removed < 2 || removed > 4 || added < 2 || added > 5 {
				t.Errorf("édition %d: %d retired, %d added; want 2–4 and 2–5", annee, removed, added)
			}
			if float64(removed+added) > 0.2*float64(len(prev)) {
				t.Errorf("édition %d: change of %d services exceeds 20 %% of %d", annee, removed+added, len(prev))
			}
		}
		prev = cur
	}
	// Services the issue names as appearing late must not exist before.
	lateServices := map[string]int{"Conseiller numérique": 2021, "IA générative au service des agents": 2024,
		"Sobriété numérique": 2021, "Lutte contre la désinformation": 2023, "Télétravail des agents": 2020}
	for _, s := range r.Services {
		if from, ok := lateServices[s.Nom]; ok {
			if s.Editions[0] != from || s.InEdition(from-1) {
				t.Errorf("service %q starts in %d, want %d", s.Nom, s.Editions[0], from)
			}
			delete(lateServices, s.Nom)
		}
	}
	for n := range lateServices {
		t.Errorf("service %q missing", n)
	}
}

func TestMentions(t *testing.T) {
	r, err := Referentiel()
	if err != nil {
		t.Fatal(err)
	}
	for _, code := range []string{"accessibilite", "cooperation-internationale", "gouvernement-ouvert",
		"numerique-educatif", "solidarites-numeriques", "teletravail", "reseau-social", "transition-ecologique",
		"democratie-locale", "mediation-numerique"} {
		if m, ok := r.MentionByCode(code); !ok || m.Type != MentionTypeMention {
			t.Errorf("mention %q = %+v, want a mention", code, m)
		}
	}
	if m, ok := r.MentionByCode("arobase-verte"); !ok || m.Type != MentionTypeDistinction {
		t.Errorf("arobase-verte = %+v, want a distinction", m)
	}
	if m, ok := r.MentionByCode("territoire-excellence-numerique"); !ok || m.Type != MentionTypeDistinction || m.ValiditeAns != 3 {
		t.Errorf("territoire-excellence-numerique = %+v, want a distinction valid 3 years", m)
	}
}

func ip(n int) *int { return &n }

func bp(b bool) *bool { return &b }

// TestLabelPublishedFigures asserts the key figures exactly as the
// association published them; nothing else may appear in chiffres.
func TestLabelPublishedFigures(t *testing.T) {
	l, err := Label()
	if err != nil {
		t.Fatal(err)
	}
	want := map[int]Chiffres{
		2017: {A4Ou5Arobases: ip(69), VillagesLabellises: ip(31)},
		2018: {Participants: ip(205), ParticipantsTerritoires: ip(12), ParticipantsVilles: ip(151), ParticipantsVillages: ip(42)},
		2019: {},
		2020: {Fiches: ip(11784)},
		2021: {Participants: ip(219), ParticipantsTerritoires: ip(9), CommunesRepresentees: ip(190),
			HabitantsEnviron: ip(4_000_000), Fiches: ip(12040)},
		2022: {Participants: ip(254), ParticipantsVilles: ip(186), ParticipantsVillages: ip(57), ParticipantsTerritoires: ip(11),
			Fiches: ip(14529), HabitantsEnviron: ip(5_000_000), NouveauxTerritoiresExcellence: ip(11),
			MentionsCounts: map[string]int{"democratie-locale": 5, "mediation-numerique": 3, "numerique-educatif": 6, "arobase-verte": 9}},
		2023: {Participants: ip(257), A5Arobases: ip(76), NouveauxTerritoiresExcellence: ip(4),
			MentionsCounts: map[string]int{"democratie-locale": 4, "mediation-numerique": 3, "numerique-educatif": 3, "arobase-verte": 7}},
		2024: {Participants: ip(241), TerritoiresExcellence: ip(15)},
		2025: {Participants: ip(226), ParticipantsVilles: ip(169), ParticipantsVillages: ip(45), ParticipantsTerritoires: ip(12),
			NouveauxTerritoiresExcellence: ip(13)},
		2026: {Participants: ip(213)},
	}
	ceremonies := map[int]struct {
		numero           int
		date, mois, lieu string
	}{
		2017: {18, "2017-02-01", "2017-02", "Lille"},
		2018: {19, "2018-02-08", "2018-02", "Paris"},
		2019: {20, "2019-01-29", "2019-01", "Paris"},
		2020: {21, "2020-02-04", "2020-02", "Martigues"},
		2021: {22, "2021-02-04", "2021-02", ""},
		2022: {23, "2022-02-03", "2022-02", "Paris"},
		2023: {24, "2023-02-02", "2023-02", "Albi"},
		2024: {25, "2024-02-08", "2024-02", ""},
		2025: {26, "2025-02-07", "2025-02", "Saint-Raphaël"},
		2026: {27, "2026-01-29", "2026-01", "Agen"},
	}
	if len(l.Editions) != len(want) {
		t.Errorf("%d éditions, want %d", len(l.Editions), len(want))
	}
	for annee, w := range want {
		e, ok := l.Edition(annee)
		if !ok {
			t.Errorf("édition %d missing", annee)
			continue
		}
		if !reflect.DeepEqual(e.Chiffres, w) {
			t.Errorf("édition %d chiffres =\n%s\nwant\n%s", annee, dumpChiffres(e.Chiffres), dumpChiffres(w))
		}
		c := ceremonies[annee]
		if e.Numero != c.numero || e.Date != c.date || e.Mois != c.mois || e.Lieu != c.lieu {
			t.Errorf("édition %d = n°%d %q %q %q, want n°%d %q %q %q",
				annee, e.Numero, e.Date, e.Mois, e.Lieu, c.numero, c.date, c.mois, c.lieu)
		}
	}
}

// dumpChiffres renders figures as JSON so a failure shows what differs.
func dumpChiffres(c Chiffres) string {
	b, err := json.Marshal(c)
	if err != nil {
		return err.Error()
	}
	return string(b)
}

// TestLabelPalmares pins every named winner and the code we resolved for it
// (INSEE for communes, SIREN for EPCI), including the homonym choices.
func TestLabelPalmares(t *testing.T) {
	l, err := Label()
	if err != nil {
		t.Fatal(err)
	}
	type key struct {
		annee       int
		distinction string
	}
	want := map[key][]string{
		{2017, "accessibilite"}:              {"69029", "200070530", "56260"},
		{2017, "cooperation-internationale"}: {"94041", "14271", "27701"},
		{2017, "gouvernement-ouvert"}:        {"200041507", "59378", "94041"},
		{2017, "numerique-educatif"}:         {"95680", "94081", "27701", "33032"},
		{2017, "solidarites-numeriques"}:     {"94033", "94081"},
		{2017, "teletravail"}:                {"73008", "200070530", "49007"},
		{2017, "reseau-social"}:              {"07102", "62041", "59268"},
		{2018, "cooperation-internationale"}: {"34108"},
		{2018, "gouvernement-ouvert"}:        {"200066355"},
		{2021, "territoire-excellence-numerique"}: {"69029", "38185", "54547", "60057", "94033", "94018", "78551",
			"92072", "95680", "27467", "47001", "47031", "200041333", "33281"},
		{2021, "transition-ecologique"}:           {"37003", "92014", "78440", "13063", "13113"},
		{2021, "democratie-locale"}:               {"14271", "34108", "13056"},
		{2022, "mediation-numerique"}:             {"13056"},
		{2022, "numerique-educatif"}:              {"13001", "13047"},
		{2023, "mediation-numerique"}:             {"13056"},
		{2025, "territoire-excellence-numerique"}: {"59009", "92049", "92044", "77475", "94002", "94037", "92062"},
	}
	got := map[key][]string{}
	for _, e := range l.Editions {
		for _, p := range e.Palmares {
			k := key{e.Annee, p.Distinction}
			got[k] = append(got[k], p.Collectivite.Code)
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("palmarès =\n%v\nwant\n%v", got, want)
	}

	e2017, _ := l.Edition(2017)
	wantAt := []struct {
		code     string
		arobases int
		nouveau  *bool
	}{{"76276", 5, nil}, {"73008", 5, nil}, {"44211", 1, bp(true)}}
	if len(e2017.Arobases) != len(wantAt) {
		t.Fatalf("2017 arobases = %+v", e2017.Arobases)
	}
	for i, w := range wantAt {
		a := e2017.Arobases[i]
		if a.Collectivite.Code != w.code || a.Arobases != w.arobases || !reflect.DeepEqual(a.Nouveau, w.nouveau) {
			t.Errorf("2017 arobases[%d] = %+v, want %+v", i, a, w)
		}
	}
}

func TestLabelSources(t *testing.T) {
	l, err := Label()
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range l.Editions {
		if len(e.Sources) == 0 && e.SourceNote == "" {
			t.Errorf("édition %d: neither sources nor source_note", e.Annee)
		}
	}
}

// TestValidationCatchesMistakes breaks fresh copies of the data in the ways
// a hand edit could, and checks that validation names the problem.
func TestValidationCatchesMistakes(t *testing.T) {
	fresh := func(t *testing.T) (ReferentielData, LabelFacts) {
		t.Helper()
		r, err := decodeLabelFile[ReferentielData]("referentiel.json")
		if err != nil {
			t.Fatal(err)
		}
		l, err := decodeLabelFile[LabelFacts]("label.json")
		if err != nil {
			t.Fatal(err)
		}
		return r, l
	}
	refCases := []struct {
		name    string
		breakIt func(r *ReferentielData)
		want    string
	}{
		{"unknown enjeu", func(r *ReferentielData) { r.Services[0].Enjeu = "nope" }, `unknown enjeu "nope"`},
		{"gap in editions", func(r *ReferentielData) { r.Services[0].Editions = []int{2017, 2019} }, "not a contiguous range"},
		{"duplicate code", func(r *ReferentielData) { r.Services[1].Code = r.Services[0].Code }, "duplicate code"},
		{"15 enjeux", func(r *ReferentielData) { r.Enjeux = r.Enjeux[:15] }, "15 enjeux"},
		{"big change", func(r *ReferentielData) {
			for i := range 30 {
				r.Services[i].Editions = []int{2017}
			}
		}, "référentiel changed by"},
		{"unknown category", func(r *ReferentielData) { r.Enjeux[0].Categorie = "x" }, `unknown category "x"`},
	}
	for _, c := range refCases {
		t.Run(c.name, func(t *testing.T) {
			r, _ := fresh(t)
			c.breakIt(&r)
			err := r.Validate()
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Validate() = %v, want an error containing %q", err, c.want)
			}
		})
	}
	labelCases := []struct {
		name    string
		breakIt func(l *LabelFacts)
		want    string
	}{
		{"unknown distinction", func(l *LabelFacts) { l.Editions[0].Palmares[0].Distinction = "prix" }, `"prix" is not a mention code`},
		{"wrong numero", func(l *LabelFacts) { l.Editions[0].Numero = 17 }, "numero 17, want 18"},
		{"missing edition", func(l *LabelFacts) { l.Editions = l.Editions[1:] }, "édition 2017: missing"},
		{"bad INSEE code", func(l *LabelFacts) { l.Editions[0].Palmares[0].Collectivite.Code = "6902" }, "not an INSEE commune code"},
		{"null code without note", func(l *LabelFacts) { l.Editions[0].Palmares[0].Collectivite.Code = "" }, "no code and no note"},
		{"more names than published", func(l *LabelFacts) { l.Editions[5].Chiffres.MentionsCounts["numerique-educatif"] = 1 }, "2 named winners"},
		{"date outside month", func(l *LabelFacts) { l.Editions[0].Date = "2017-03-01" }, "not in mois"},
		{"no sources", func(l *LabelFacts) { l.Editions[0].Sources = nil }, "no source and no source_note"},
	}
	for _, c := range labelCases {
		t.Run(c.name, func(t *testing.T) {
			r, l := fresh(t)
			c.breakIt(&l)
			err := l.Validate(r)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Validate() = %v, want an error containing %q", err, c.want)
			}
		})
	}
}
