package main

import (
	"bytes"
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"atlaas/geodata"
	"atlaas/internal/postgres/pgtest"
)

// loadDemo runs `atlaas demo load` against the database at u.
func loadDemo(t *testing.T, u string, args ...string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	env := &environment{stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }}
	args = append([]string{"demo", "load", "--database-url", u, "--log-level", "warn"}, args...)
	if code := run(context.Background(), env, args); code != 0 {
		t.Fatalf("demo load: exit %d: %s", code, stderr.String())
	}
	return stdout.String()
}

// queryInt runs a query returning one integer.
func queryInt(t *testing.T, conn *pgx.Conn, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := conn.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

const checksumSQL = `SELECT md5(
	(SELECT string_agg(f::text, '|' ORDER BY id) FROM fiches f) ||
	(SELECT string_agg(s::text, '|' ORDER BY fiche, service) FROM fiche_services s) ||
	(SELECT string_agg(e::text, '|' ORDER BY fiche, annee) FROM fiche_editions e) ||
	(SELECT string_agg(p::text, '|' ORDER BY annee, collectivite) FROM participations p) ||
	(SELECT string_agg(p.annee || p.mention || coalesce(p.collectivite, p.nom_publie), '|' ORDER BY 1) FROM palmares p))`

// TestDemoReproducesPublishedFigures loads the demo once and checks, by SQL, every figure the
// label published, the honesty of the geography, and that a second load with the same seed gives
// the same rows (and no duplicates).
func TestDemoReproducesPublishedFigures(t *testing.T) {
	u := pgtest.MustURL(t)
	out := loadDemo(t, u)
	t.Log(out)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)

	participants := func(annee int, where string) string {
		return `SELECT count(*) FROM participations p JOIN collectivites c ON c.code = p.collectivite WHERE p.annee = ` +
			strconv.Itoa(annee) + where
	}
	palmares := func(annee int, mention string) string {
		return `SELECT count(*) FROM palmares WHERE annee = ` + strconv.Itoa(annee) + ` AND mention = '` + mention + `'`
	}
	fiches := func(annee int) string {
		return `SELECT count(*) FROM fiche_editions WHERE annee = ` + strconv.Itoa(annee)
	}
	excellenceValid := func(annee int) string {
		return `SELECT count(*) FROM participations WHERE territoire_excellence AND annee BETWEEN ` + strconv.Itoa(annee-2) + ` AND ` + strconv.Itoa(annee)
	}
	figures := []struct {
		name string
		sql  string
		want int
	}{
		{"2017 at 4–5 @", participants(2017, " AND p.arobases >= 4"), 69},
		{"2017 villages labelled", participants(2017, " AND c.categorie = 'village'"), 31},
		{"2017 Forges-les-Eaux 5 @", participants(2017, " AND c.code = '76276' AND p.arobases = 5"), 1},
		{"2017 Aix-les-Bains 5 @", participants(2017, " AND c.code = '73008' AND p.arobases = 5"), 1},
		{"2017 La Turballe newly labelled at 1 @", participants(2017, " AND c.code = '44211' AND p.arobases = 1 AND p.nouveau"), 1},
		{"2017 mentions accessibilité", palmares(2017, "accessibilite") + ` AND collectivite IN ('69029', '200070530', '56260')`, 3},
		{"2017 mentions coopération internationale", palmares(2017, "cooperation-internationale") + ` AND collectivite IN ('94041', '14271', '27701')`, 3},
		{"2017 mentions gouvernement ouvert", palmares(2017, "gouvernement-ouvert") + ` AND collectivite IN ('200041507', '59378', '94041')`, 3},
		{"2017 mentions numérique éducatif", palmares(2017, "numerique-educatif") + ` AND collectivite IN ('95680', '94081', '27701', '33032')`, 4},
		{"2017 mentions solidarités numériques", palmares(2017, "solidarites-numeriques") + ` AND collectivite IN ('94033', '94081')`, 2},
		{"2017 mentions télétravail", palmares(2017, "teletravail") + ` AND collectivite IN ('73008', '200070530', '49007')`, 3},
		{"2017 mentions réseau social", palmares(2017, "reseau-social") + ` AND collectivite IN ('07102', '62041', '59268')`, 3},
		{"2017 winners take part", `SELECT count(DISTINCT m.collectivite) FROM palmares m JOIN participations p ON (p.collectivite, p.annee) = (m.collectivite, m.annee) WHERE m.annee = 2017`, 17},
		{"2018 participants", participants(2018, ""), 205},
		{"2018 territoires", participants(2018, " AND c.categorie = 'territoire'"), 12},
		{"2018 villes", participants(2018, " AND c.categorie = 'ville'"), 151},
		{"2018 villages", participants(2018, " AND c.categorie = 'village'"), 42},
		{"2018 coopération décentralisée Frontignan", palmares(2018, "cooperation-internationale") + ` AND collectivite = '34108'`, 1},
		{"2018 gouvernement ouvert Sète Agglopôle", palmares(2018, "gouvernement-ouvert") + ` AND collectivite = '200066355'`, 1},
		{"2020 fiches", fiches(2020), 11784},
		{"2021 participants", participants(2021, ""), 219},
		{"2021 territoires", participants(2021, " AND c.categorie = 'territoire'"), 9},
		{"2021 communes of the territoires", `SELECT count(*) FROM collectivites m JOIN participations p ON p.collectivite = m.epci WHERE p.annee = 2021`, 190},
		{"2021 fiches", fiches(2021), 12040},
		{"2021 territoires d'excellence", `SELECT count(*) FROM participations WHERE annee = 2021 AND territoire_excellence AND arobases = 5 AND collectivite IN
			('69029','38185','54547','60057','94033','94018','78551','92072','95680','27467','47001','47031','200041333','33281')`, 14},
		{"2021 territoires d'excellence, no other", `SELECT count(*) FROM participations WHERE annee = 2021 AND territoire_excellence`, 14},
		{"2021 transition écologique", palmares(2021, "transition-ecologique") + ` AND collectivite IN ('37003','92014','78440','13063','13113')`, 5},
		{"2021 démocratie locale", palmares(2021, "democratie-locale") + ` AND collectivite IN ('14271','34108','13056')`, 3},
		{"2022 participants", participants(2022, ""), 254},
		{"2022 villes", participants(2022, " AND c.categorie = 'ville'"), 186},
		{"2022 villages", participants(2022, " AND c.categorie = 'village'"), 57},
		{"2022 intercommunalités", participants(2022, " AND c.categorie = 'territoire'"), 11},
		{"2022 fiches", fiches(2022), 14529},
		{"2022 new territoires d'excellence", `SELECT count(*) FROM participations WHERE annee = 2022 AND territoire_excellence AND arobases = 5`, 11},
		{"2022 démocratie locale", palmares(2022, "democratie-locale"), 5},
		{"2022 médiation numérique", palmares(2022, "mediation-numerique"), 3},
		{"2022 médiation numérique Martigues", palmares(2022, "mediation-numerique") + ` AND collectivite = '13056'`, 1},
		{"2022 numérique éducatif", palmares(2022, "numerique-educatif"), 6},
		{"2022 numérique éducatif Aix and Istres", palmares(2022, "numerique-educatif") + ` AND collectivite IN ('13001', '13047')`, 2},
		{"2022 arobase verte", `SELECT count(*) FROM participations WHERE annee = 2022 AND arobase_verte`, 9},
		{"2022 arobase verte palmarès", palmares(2022, "arobase-verte"), 9},
		{"2023 participants", participants(2023, ""), 257},
		{"2023 at 5 @", participants(2023, " AND p.arobases = 5"), 76},
		{"2023 new territoires d'excellence", `SELECT count(*) FROM participations WHERE annee = 2023 AND territoire_excellence`, 4},
		{"2023 démocratie locale", palmares(2023, "democratie-locale"), 4},
		{"2023 médiation numérique", palmares(2023, "mediation-numerique"), 3},
		{"2023 médiation numérique Martigues", palmares(2023, "mediation-numerique") + ` AND collectivite = '13056'`, 1},
		{"2023 numérique éducatif", palmares(2023, "numerique-educatif"), 3},
		{"2023 arobase verte", `SELECT count(*) FROM participations WHERE annee = 2023 AND arobase_verte`, 7},
		{"2024 participants", participants(2024, ""), 241},
		{"2024 territoires d'excellence (valid three éditions)", excellenceValid(2024), 15},
		{"2025 participants", participants(2025, ""), 226},
		{"2025 villes", participants(2025, " AND c.categorie = 'ville'"), 169},
		{"2025 villages", participants(2025, " AND c.categorie = 'village'"), 45},
		{"2025 intercommunalités", participants(2025, " AND c.categorie = 'territoire'"), 12},
		{"2025 territoires d'excellence", `SELECT count(*) FROM participations WHERE annee = 2025 AND territoire_excellence`, 13},
		{"2025 named territoires d'excellence", `SELECT count(*) FROM participations WHERE annee = 2025 AND territoire_excellence AND collectivite IN
			('59009','92049','92044','77475','94002','94037','92062')`, 7},
		{"2026 participants", participants(2026, ""), 213},
		{"territoires d'excellence are at 5 @", `SELECT count(*) FROM participations WHERE territoire_excellence AND arobases <> 5`, 0},
		{"fiches published only when their collectivité takes part", `SELECT count(*) FROM fiche_editions e JOIN fiches f ON f.id = e.fiche
			LEFT JOIN participations p ON (p.collectivite, p.annee) = (f.collectivite, e.annee) WHERE p.collectivite IS NULL`, 0},
		{"fiche services exist in each of the fiche's éditions", `SELECT count(*) FROM fiche_services s JOIN fiche_editions e USING (fiche)
			LEFT JOIN service_editions se ON (se.service, se.annee) = (s.service, e.annee) WHERE se.service IS NULL`, 0},
		{"a bulk load writes no outbox row", `SELECT count(*) FROM outbox`, 0},
		{"fiches have 1 to 3 services", `SELECT count(*) FROM (SELECT fiche, count(*) n FROM fiche_services GROUP BY fiche) s WHERE n > 3`, 0},
		{"every fiche has a service", `SELECT count(*) FROM fiches f WHERE NOT EXISTS (SELECT 1 FROM fiche_services s WHERE s.fiche = f.id)`, 0},
		{"fiche éditions are consecutive", `SELECT count(*) FROM (SELECT fiche, max(annee) - min(annee) + 1 - count(*) AS gaps FROM fiche_editions GROUP BY fiche) g WHERE gaps <> 0`, 0},
		{"no two fiches of a collectivité share a title", `SELECT count(*) FROM (SELECT collectivite, titre FROM fiches GROUP BY 1, 2 HAVING count(*) > 1) d`, 0},
		{"every generated row says it is demonstration data", `SELECT count(*) FROM fiches WHERE source <> 'demo'`, 0},
		{"every fiche point lies in France", `SELECT count(*) FROM fiches f WHERE f.geom IS NOT NULL AND NOT EXISTS
			(SELECT 1 FROM departements d WHERE ST_DWithin(d.geom, f.geom, 0.1))`, 0},
		{"own places lie within 3 km of their collectivité", `SELECT count(*) FROM fiches f JOIN collectivites c ON c.code = f.collectivite
			WHERE f.geom_precision = 'lieu' AND NOT EXISTS (SELECT 1 FROM collectivites m WHERE (m.code = c.code OR m.epci = c.code)
			AND m.geom IS NOT NULL AND ST_DWithin(m.geom::geography, f.geom::geography, 3000))`, 0},
		{"Bron within 2 km of 45.74 N, 4.91 E", `SELECT count(*) FROM collectivites WHERE code = '69029'
			AND ST_DWithin(geom::geography, ST_SetSRID(ST_MakePoint(4.91, 45.74), 4326)::geography, 2000)`, 1},
	}
	for _, f := range figures {
		t.Run(f.name, func(t *testing.T) {
			if got := queryInt(t, conn, f.sql); got != f.want {
				t.Errorf("%d, want %d", got, f.want)
			}
		})
	}

	population := func(annee int) int {
		return queryInt(t, conn, `WITH p AS (SELECT c.* FROM participations pa JOIN collectivites c ON c.code = pa.collectivite WHERE pa.annee = $1),
			covered AS (SELECT code FROM p WHERE kind = 'commune' UNION SELECT m.code FROM collectivites m JOIN p ON m.epci = p.code)
			SELECT sum(population) FROM collectivites WHERE code IN (SELECT code FROM covered)`, annee)
	}
	for annee, want := range map[int]int{2021: 4_000_000, 2022: 5_000_000} {
		if got := population(annee); got < want*95/100 || got > want*105/100 {
			t.Errorf("%d: population represented %d, want %d ± 5 %%", annee, got, want)
		}
	}

	distinct := queryInt(t, conn, `SELECT count(*) FROM fiches`)
	if distinct < 25_000 || distinct > 30_000 {
		t.Errorf("%d distinct fiches, want 25,000–30,000", distinct)
	}
	steps := queryInt(t, conn, `SELECT count(*) FROM participations a JOIN participations b ON b.collectivite = a.collectivite AND b.annee = a.annee + 1`)
	bigSteps := queryInt(t, conn, `SELECT count(*) FROM participations a JOIN participations b ON b.collectivite = a.collectivite AND b.annee = a.annee + 1
		WHERE abs(a.arobases - b.arobases) > 1`)
	if steps < 1000 || bigSteps*20 > steps {
		t.Errorf("%d returns from one year to the next, %d of them moving by more than one @: want many returns, at most 5 %% big moves", steps, bigSteps)
	}

	// Honest geography: a commune has a point only where GeoNames gave one.
	communes, err := geodata.Communes()
	if err != nil {
		t.Fatal(err)
	}
	noPoint := map[string]bool{}
	for _, c := range communes {
		if !c.HasPoint {
			noPoint[c.Insee] = true
		}
	}
	rows, err := conn.Query(ctx, `SELECT code FROM collectivites WHERE kind = 'commune' AND geom IS NOT NULL`)
	if err != nil {
		t.Fatal(err)
	}
	withPoint, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	for _, code := range withPoint {
		if noPoint[code] {
			t.Errorf("commune %s has a point but no GeoNames match", code)
		}
	}
	if len(withPoint) != len(communes)-len(noPoint) {
		t.Errorf("%d communes with a point, want %d", len(withPoint), len(communes)-len(noPoint))
	}

	// Same seed, same rows: reloading replaces the demo without duplicating anything.
	var before, after string
	if err := conn.QueryRow(ctx, checksumSQL).Scan(&before); err != nil {
		t.Fatal(err)
	}
	loadDemo(t, u)
	if err := conn.QueryRow(ctx, checksumSQL).Scan(&after); err != nil {
		t.Fatal(err)
	}
	if before != after {
		t.Errorf("checksum %s after reloading the same seed, want %s", after, before)
	}
	if n := queryInt(t, conn, `SELECT count(*) FROM fiches`); n != distinct {
		t.Errorf("%d fiches after a reload, want %d", n, distinct)
	}
	// --if-empty leaves a loaded database alone.
	if out := loadDemo(t, u, "--if-empty"); !strings.Contains(out, "nothing loaded") {
		t.Errorf("demo load --if-empty on a loaded database said %q", out)
	}
}
