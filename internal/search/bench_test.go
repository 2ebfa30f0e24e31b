package search_test

// Search benchmarks (issue 4, "Performance"): build time and size of the index, in-process
// latency of Service.Search (p50/p99 per query), the same searches with PostgreSQL's own
// full-text search as a baseline, and a relevance comparison of both engines.
//
// They need a database already loaded with the demonstration atlas (or --scale 1000000), named
// by ATLAAS_BENCH_DATABASE_URL, and are skipped without it. They add objects to that database
// (scripts/fts-baseline.sql): never point them at a database you care about.
//
//	createdb bench_demo && bin/atlaas migrate --database-url $U && bin/atlaas demo load --database-url $U
//	ATLAAS_BENCH_DATABASE_URL=$U go test -run '^$' -bench '^BenchmarkSearch$' -benchtime 300x -timeout 0 ./internal/search
//
// Sub-benchmarks: build (index build, reported once), bleve/<query>, pgfts-col/<query> (GIN on a
// stored tsvector column), pgfts-expr/<query> (GIN on the tsvector expression over fiches), and
// relevance. Queries come from scripts/search-queries.txt, shared with scripts/bench-search.sh.
// At the end, a table of every figure is printed. Each timed sub-benchmark reports p50-ms and
// p99-ms over its b.N runs (topped up to 200 runs when b.N is smaller, except b.N = 1).
//
// Environment:
//
//	ATLAAS_BENCH_DATABASE_URL   the benchmark database (required)
//	ATLAAS_BENCH_INDEX_DIR      keep the index in this directory and reuse it when it is there
//	                            (default: a temporary directory, built afresh each run)
//	ATLAAS_BENCH_FTS_REBUILD=1  rerun scripts/fts-baseline.sql even when its objects look current
//	ATLAAS_BENCH_VERBOSE=1      print the first 10 titles of each engine for each relevance query
//	ATLAAS_BENCH_MIN_RUNS=200   the fewest runs percentiles come from (b.N is topped up to it
//	                            when 1 < b.N < it): lower it for slow baselines at 1M fiches

import (
	"bufio"
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/blevesearch/bleve/v2/analysis/char/asciifolding"
	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb"

	"atlaas/internal/atlaas"
	"atlaas/internal/postgres"
	"atlaas/internal/search"
)

const (
	benchDatabaseEnv = "ATLAAS_BENCH_DATABASE_URL"
	benchIndexDirEnv = "ATLAAS_BENCH_INDEX_DIR"
	benchFTSRebuild  = "ATLAAS_BENCH_FTS_REBUILD"
	// benchMinRuns is the fewest runs percentiles are computed from, unless
	// ATLAAS_BENCH_MIN_RUNS says otherwise.
	benchMinRuns = 200
)

var (
	benchQueriesFile = filepath.Join("..", "..", "scripts", "search-queries.txt")
	benchFTSFile     = filepath.Join("..", "..", "scripts", "fts-baseline.sql")
)

// benchQuery is one line of scripts/search-queries.txt.
type benchQuery struct {
	name, raw string
	filter    atlaas.FicheFilter
}

func loadBenchQueries(tb testing.TB) []benchQuery {
	tb.Helper()
	f, err := os.Open(benchQueriesFile)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var out []benchQuery
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) != 2 {
			tb.Fatalf("%s: want `name query-string`: %q", benchQueriesFile, line)
		}
		filter, err := parseBenchFilter(fields[1])
		if err != nil {
			tb.Fatalf("%s: %s: %v", benchQueriesFile, fields[0], err)
		}
		out = append(out, benchQuery{name: fields[0], raw: fields[1], filter: filter})
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	return out
}

// parseBenchFilter reads a query string as GET /api/v1/fiches does (internal/httpapi), without
// its validation: the file is ours.
func parseBenchFilter(raw string) (atlaas.FicheFilter, error) {
	v, err := url.ParseQuery(raw)
	if err != nil {
		return atlaas.FicheFilter{}, err
	}
	f := atlaas.FicheFilter{Q: strings.TrimSpace(v.Get("q")), Filters: map[string][]string{}, Sort: v.Get("sort"),
		Limit: atlaas.DefaultSearchLimit}
	for _, facet := range atlaas.Facets {
		for _, s := range v[facet] {
			for _, p := range strings.Split(s, ",") {
				if p = strings.TrimSpace(p); p != "" {
					f.Filters[facet] = append(f.Filters[facet], p)
				}
			}
		}
	}
	floats := func(name string, n int) ([]float64, error) {
		parts := strings.Split(v.Get(name), ",")
		if len(parts) != n {
			return nil, fmt.Errorf("%s: want %d numbers", name, n)
		}
		out := make([]float64, n)
		for i, p := range parts {
			if out[i], err = strconv.ParseFloat(strings.TrimSpace(p), 64); err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
		}
		return out, nil
	}
	if v.Get("bbox") != "" {
		b, err := floats("bbox", 4)
		if err != nil {
			return f, err
		}
		f.BBox = &orb.Bound{Min: orb.Point{b[0], b[1]}, Max: orb.Point{b[2], b[3]}}
	}
	if v.Get("near") != "" {
		p, err := floats("near", 2)
		if err != nil {
			return f, err
		}
		f.Near = &orb.Point{p[0], p[1]}
		f.Km = 10
		if km := v.Get("km"); km != "" {
			if f.Km, err = strconv.ParseFloat(km, 64); err != nil {
				return f, fmt.Errorf("km: %w", err)
			}
		}
	}
	if l := v.Get("limit"); l != "" {
		if f.Limit, err = strconv.Atoi(l); err != nil {
			return f, fmt.Errorf("limit: %w", err)
		}
	}
	return f, nil
}

// benchEnv is what the sub-benchmarks of one BenchmarkSearch share; the index and the baseline
// are set up when a sub-benchmark first needs them.
type benchEnv struct {
	url    string
	dir    string
	logger *slog.Logger
	db     *postgres.DB
	stop   func()

	svc        *search.Service
	built      *search.BuildStats // nil when an existing index was reused
	indexBytes int64

	pg         *pgx.Conn
	ftsSetup   time.Duration // 0 when the baseline's objects were reused
	ftsSizes   string
	ftsChecked bool

	results map[string]benchResult // "engine/query" → figures
}

type benchResult struct {
	p50, p99, mean time.Duration
	runs, total    int
}

func newBenchEnv(b *testing.B) *benchEnv {
	u := os.Getenv(benchDatabaseEnv)
	if u == "" {
		b.Skip(benchDatabaseEnv + " is not set: no benchmark database")
	}
	e := &benchEnv{url: u, results: map[string]benchResult{},
		logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))}
	e.dir = os.Getenv(benchIndexDirEnv)
	if e.dir == "" {
		e.dir = b.TempDir()
	}
	db, err := postgres.Open(context.Background(), u, postgres.Options{ApplicationName: "atlaas bench"}, e.logger)
	if err != nil {
		b.Fatal(err)
	}
	e.db = db
	b.Cleanup(func() {
		if e.stop != nil {
			e.stop()
		}
		if e.pg != nil {
			e.pg.Close(context.Background())
		}
		db.Close()
	})
	return e
}

// service builds the index (unless ATLAAS_BENCH_INDEX_DIR holds one already) and starts a
// Service over it, as `atlaas serve` does.
func (e *benchEnv) service(b *testing.B) *search.Service {
	b.Helper()
	if e.svc != nil {
		return e.svc
	}
	ctx := context.Background()
	if _, err := os.Stat(filepath.Join(e.dir, "current")); err != nil {
		info := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
		st, err := search.Rebuild(ctx, e.dir, e.db, info)
		if err != nil {
			b.Fatal(err)
		}
		e.built = &st
	}
	e.indexBytes = dirSize(b, e.dir)
	svc := search.NewService(e.dir, e.db, e.logger)
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := svc.Run(runCtx); err != nil {
			b.Errorf("search service: %v", err)
		}
	}()
	e.stop = func() { cancel(); <-done }
	// A reused index of another data version is rebuilt by Run: allow for a million fiches.
	deadline := time.Now().Add(2 * time.Hour)
	for svc.Ready(ctx) != nil {
		if time.Now().After(deadline) {
			b.Fatal("the search index was not ready after 2 h")
		}
		time.Sleep(20 * time.Millisecond)
	}
	e.svc = svc
	return svc
}

func dirSize(tb testing.TB, dir string) int64 {
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			info, err := d.Info()
			if err != nil {
				return err
			}
			n += info.Size()
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return n
}

// pgConn returns a connection with the settings of the service's pool (no JIT, no parallel
// workers), with the baseline's objects in place.
func (e *benchEnv) pgConn(b *testing.B) *pgx.Conn {
	b.Helper()
	ctx := context.Background()
	if e.pg == nil {
		cfg, err := pgx.ParseConfig(e.url)
		if err != nil {
			b.Fatal(err)
		}
		cfg.RuntimeParams["jit"] = "off"
		cfg.RuntimeParams["max_parallel_workers_per_gather"] = "0"
		cfg.RuntimeParams["application_name"] = "atlaas bench fts"
		if e.pg, err = pgx.ConnectConfig(ctx, cfg); err != nil {
			b.Fatal(err)
		}
	}
	if e.ftsChecked {
		return e.pg
	}
	var current bool
	err := e.pg.QueryRow(ctx, `SELECT to_regclass('bench_facets') IS NOT NULL
		AND to_regclass('bench_fiches_fts_idx') IS NOT NULL AND to_regclass('bench_facets_tsv_idx') IS NOT NULL`).Scan(&current)
	if err != nil {
		b.Fatal(err)
	}
	if current {
		// Same live fiches, same last update: the baseline reflects the data.
		err = e.pg.QueryRow(ctx, `SELECT (SELECT count(*) FROM bench_facets) = (SELECT count(*) FROM fiches WHERE deleted_at IS NULL)
			AND NOT EXISTS (SELECT 1 FROM fiches f LEFT JOIN bench_facets x USING (id)
			                WHERE f.deleted_at IS NULL AND x.id IS NULL LIMIT 1)`).Scan(&current)
		if err != nil {
			b.Fatal(err)
		}
	}
	if !current || os.Getenv(benchFTSRebuild) == "1" {
		script, err := os.ReadFile(benchFTSFile)
		if err != nil {
			b.Fatal(err)
		}
		var lines []string
		for _, l := range strings.Split(string(script), "\n") {
			if !strings.HasPrefix(l, `\`) { // psql's meta-commands
				lines = append(lines, l)
			}
		}
		start := time.Now()
		if _, err := e.pg.Exec(ctx, strings.Join(lines, "\n")); err != nil {
			b.Fatalf("%s: %v", benchFTSFile, err)
		}
		e.ftsSetup = time.Since(start)
		if _, err := e.pg.Exec(ctx, "RESET maintenance_work_mem; RESET max_parallel_maintenance_workers"); err != nil {
			b.Fatal(err)
		}
	}
	err = e.pg.QueryRow(ctx, `SELECT format('GIN expression %s, GIN column %s, bench_facets table %s',
		pg_size_pretty(pg_relation_size('bench_fiches_fts_idx')), pg_size_pretty(pg_relation_size('bench_facets_tsv_idx')),
		pg_size_pretty(pg_table_size('bench_facets')))`).Scan(&e.ftsSizes)
	if err != nil {
		b.Fatal(err)
	}
	e.ftsChecked = true
	return e.pg
}

// measure runs fn b.N times (topped up to the minimum runs when 1 < b.N is below it), reports
// p50 and p99 in milliseconds, and keeps the figures of the largest run for the summary.
func (e *benchEnv) measure(b *testing.B, key string, fn func() (total int, err error)) {
	b.Helper()
	minRuns := benchMinRuns
	if v, err := strconv.Atoi(os.Getenv("ATLAAS_BENCH_MIN_RUNS")); err == nil && v > 0 {
		minRuns = v
	}
	samples := make([]time.Duration, 0, max(b.N, minRuns))
	total := 0
	run := func() {
		start := time.Now()
		n, err := fn()
		samples = append(samples, time.Since(start))
		if err != nil {
			b.Fatalf("%s: %v", key, err)
		}
		total = n
	}
	b.ResetTimer()
	for range b.N {
		run()
	}
	b.StopTimer()
	for b.N > 1 && len(samples) < minRuns {
		run()
	}
	r := benchResult{runs: len(samples), total: total, p50: percentile(samples, 50), p99: percentile(samples, 99)}
	var sum time.Duration
	for _, s := range samples {
		sum += s
	}
	r.mean = sum / time.Duration(len(samples))
	b.ReportMetric(ms(r.p50), "p50-ms")
	b.ReportMetric(ms(r.p99), "p99-ms")
	b.ReportMetric(float64(total), "hits")
	if old, ok := e.results[key]; !ok || r.runs >= old.runs {
		e.results[key] = r
	}
}

// percentile is the nearest-rank percentile p (0 < p ≤ 100) of samples; it sorts them.
func percentile(samples []time.Duration, p float64) time.Duration {
	if len(samples) == 0 {
		return 0
	}
	slices.Sort(samples)
	i := int(math.Ceil(p/100*float64(len(samples)))) - 1
	return samples[max(0, min(i, len(samples)-1))]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// BenchmarkSearch measures the search index against the database of ATLAAS_BENCH_DATABASE_URL;
// see the top of this file.
func BenchmarkSearch(b *testing.B) {
	e := newBenchEnv(b)
	queries := loadBenchQueries(b)
	ctx := context.Background()

	b.Run("build", func(b *testing.B) {
		e.service(b)
		if e.built != nil {
			b.ReportMetric(e.built.Duration.Seconds(), "build-s")
			b.ReportMetric(float64(e.built.Documents)/e.built.Duration.Seconds(), "docs/s")
			b.ReportMetric(float64(e.built.Documents), "fiches")
			b.ReportMetric(0, "ns/op")
		}
		b.ReportMetric(float64(e.indexBytes)/(1<<20), "index-MiB")
	})
	for _, q := range queries {
		b.Run("bleve/"+q.name, func(b *testing.B) {
			s := e.service(b)
			e.measure(b, "bleve/"+q.name, func() (int, error) {
				res, err := s.Search(ctx, q.filter)
				return res.Total, err
			})
		})
	}
	for _, v := range pgVariants {
		for _, q := range queries {
			if v.name == "pgfts-expr" && q.filter.Q == "" {
				continue // without text, both variants run the same SQL
			}
			b.Run(v.name+"/"+q.name, func(b *testing.B) {
				conn := e.pgConn(b)
				e.measure(b, v.name+"/"+q.name, func() (int, error) {
					total, _, err := pgSearch(ctx, conn, v, q.filter)
					return total, err
				})
			})
		}
	}
	var rel []relevanceRow
	b.Run("relevance", func(b *testing.B) {
		if rel == nil {
			rel = e.relevance(b)
		}
		var bl, pg float64
		for _, r := range rel {
			bl += r.bleve.precision
			pg += r.pg.precision
		}
		b.ReportMetric(bl/float64(len(rel)), "bleve-P@10")
		b.ReportMetric(pg/float64(len(rel)), "pgfts-P@10")
		b.ReportMetric(0, "ns/op")
	})
	e.printSummary(queries, rel)
}

func (e *benchEnv) printSummary(queries []benchQuery, rel []relevanceRow) {
	w := os.Stdout
	if e.built != nil {
		fmt.Fprintf(w, "\nindex build: %d fiches in %s (%.0f docs/s), %.1f MiB on disk\n", e.built.Documents,
			e.built.Duration.Round(time.Millisecond), float64(e.built.Documents)/e.built.Duration.Seconds(), float64(e.indexBytes)/(1<<20))
	} else if e.svc != nil {
		fmt.Fprintf(w, "\nindex reused from %s: %.1f MiB on disk\n", e.dir, float64(e.indexBytes)/(1<<20))
	}
	if e.ftsChecked {
		setup := "reused"
		if e.ftsSetup > 0 {
			setup = "built in " + e.ftsSetup.Round(time.Millisecond).String()
		}
		fmt.Fprintf(w, "PostgreSQL FTS baseline (%s): %s\n", setup, e.ftsSizes)
	}
	if len(e.results) > 0 {
		fmt.Fprintf(w, "\n| query | hits | Bleve p50 / p99 ms | PG FTS (column) p50 / p99 ms | PG FTS (expression) p50 / p99 ms |\n|---|---|---|---|---|\n")
		cell := func(key string) string {
			r, ok := e.results[key]
			if !ok {
				return "–"
			}
			return fmt.Sprintf("%.2f / %.2f", ms(r.p50), ms(r.p99))
		}
		for _, q := range queries {
			hits := "–"
			if r, ok := e.results["bleve/"+q.name]; ok {
				hits = strconv.Itoa(r.total)
			}
			if r, ok := e.results[pgVariants[0].name+"/"+q.name]; ok {
				hits += " (pg " + strconv.Itoa(r.total) + ")"
			}
			fmt.Fprintf(w, "| %s `%s` | %s | %s | %s | %s |\n", q.name, q.raw, hits, cell("bleve/"+q.name),
				cell(pgVariants[0].name+"/"+q.name), cell(pgVariants[1].name+"/"+q.name))
		}
	}
	if len(rel) > 0 {
		fmt.Fprintf(w, "\nRelevance: a fiche is expected when its title, lower-cased and accent-folded, contains every\n"+
			"substring of one of the query's concepts. P@10 = expected fiches in the first 10 / min(10, expected).\n"+
			"first = rank of the first expected fiche (– if none in the first 10).\n\n"+
			"| query | concept in title | expected | Bleve P@10 | Bleve first | PG FTS P@10 | PG FTS first | better |\n|---|---|---|---|---|---|---|---|\n")
		var bl, pg float64
		wins := map[string]int{}
		for _, r := range rel {
			bl += r.bleve.precision
			pg += r.pg.precision
			wins[r.better()]++
			fmt.Fprintf(w, "| `%s` | %s | %d | %.1f | %s | %.1f | %s | %s |\n", r.q, r.concepts, r.expected,
				r.bleve.precision, r.bleve.firstString(), r.pg.precision, r.pg.firstString(), r.better())
		}
		fmt.Fprintf(w, "| mean | | | %.2f | | %.2f | | Bleve %d, PG FTS %d, tie %d |\n", bl/float64(len(rel)), pg/float64(len(rel)),
			wins["Bleve"], wins["PG FTS"], wins["tie"])
	}
}

// pgVariant is one way of asking PostgreSQL: the tsvector stored in bench_facets.tsv, or the
// expression the GIN index on fiches is built on (recomputed for each matching row).
type pgVariant struct {
	name, tsv string
}

var pgVariants = []pgVariant{
	{"pgfts-col", "x.tsv"},
	{"pgfts-expr", "bench_fiche_tsv(f.titre, f.sous_titre, f.synthese, f.actions, f.resultats)"},
}

// pgFacet is how bench_facets holds a facet: a scalar column or a text[] of values.
var pgFacet = map[string]struct {
	column string
	array  bool
}{
	atlaas.FacetEnjeu: {"enjeux", true}, atlaas.FacetService: {"services", true}, atlaas.FacetRegion: {"region", false},
	atlaas.FacetDepartement: {"departement", false}, atlaas.FacetCollectivite: {"collectivite", false},
	atlaas.FacetCategorie: {"categorie", false}, atlaas.FacetPopulation: {"population", false},
	atlaas.FacetArobases: {"arobases", true}, atlaas.FacetAnnee: {"annees", true}, atlaas.FacetMention: {"mentions", true},
	atlaas.FacetStatut: {"statut", false},
}

// pgFacetSize mirrors the sizes the Bleve facets ask for (internal/search/query.go).
var pgFacetSize = map[string]int{
	atlaas.FacetEnjeu: 20, atlaas.FacetService: 200, atlaas.FacetRegion: 30, atlaas.FacetDepartement: 120,
	atlaas.FacetCollectivite: 20, atlaas.FacetCategorie: 5, atlaas.FacetPopulation: 10, atlaas.FacetArobases: 5,
	atlaas.FacetAnnee: 20, atlaas.FacetMention: 20, atlaas.FacetStatut: 5,
}

type sqlArgs []any

func (a *sqlArgs) add(v any) string {
	*a = append(*a, v)
	return "$" + strconv.Itoa(len(*a))
}

// pgMatches is the FROM and WHERE of the fiches matching f, leaving out the filter of the facet
// without ("": none). The text query, when there is one, is q.
func pgMatches(v pgVariant, f atlaas.FicheFilter, without string, a *sqlArgs) string {
	from := "fiches f JOIN bench_facets x ON x.id = f.id"
	conds := []string{"f.deleted_at IS NULL"}
	if f.Q != "" {
		from += ", websearch_to_tsquery('bench_fr', " + a.add(f.Q) + ") q"
		conds = append(conds, v.tsv+" @@ q")
	}
	years := f.Filters[atlaas.FacetAnnee]
	for _, facet := range atlaas.Facets {
		values := f.Filters[facet]
		if facet == without || len(values) == 0 {
			continue
		}
		if facet == atlaas.FacetArobases && len(years) > 0 {
			var pairs []string
			for _, y := range years {
				for _, l := range values {
					pairs = append(pairs, y+":"+l)
				}
			}
			conds = append(conds, "x.arobases_annee && "+a.add(pairs)+"::text[]")
			continue
		}
		c := pgFacet[facet]
		if c.array {
			conds = append(conds, "x."+c.column+" && "+a.add(values)+"::text[]")
		} else {
			conds = append(conds, "x."+c.column+" = ANY ("+a.add(values)+"::text[])")
		}
	}
	if bb := f.BBox; bb != nil {
		conds = append(conds, fmt.Sprintf("ST_Intersects(f.geom, ST_MakeEnvelope(%s, %s, %s, %s, 4326))",
			a.add(bb.Min.Lon()), a.add(bb.Min.Lat()), a.add(bb.Max.Lon()), a.add(bb.Max.Lat())))
	}
	if p := f.Near; p != nil {
		// The envelope lets the GiST index on fiches.geom find candidates; ST_DWithin decides.
		dLat := f.Km / 111.0
		dLon := f.Km / (111.0 * math.Max(0.01, math.Cos(p.Lat()*math.Pi/180)))
		conds = append(conds, fmt.Sprintf("f.geom && ST_MakeEnvelope(%s, %s, %s, %s, 4326)",
			a.add(p.Lon()-dLon), a.add(p.Lat()-dLat), a.add(p.Lon()+dLon), a.add(p.Lat()+dLat)))
		conds = append(conds, fmt.Sprintf("ST_DWithin(f.geom::geography, ST_SetSRID(ST_MakePoint(%s, %s), 4326)::geography, %s)",
			a.add(p.Lon()), a.add(p.Lat()), a.add(f.Km*1000)))
	}
	return from + " WHERE " + strings.Join(conds, " AND ")
}

// pgFacetColumns are what the facet counts read of each match.
const pgFacetColumns = "x.id, x.collectivite, x.categorie, x.departement, x.region, x.population, x.statut, " +
	"x.enjeux, x.services, x.annees, x.arobases, x.arobases_annee, x.mentions"

// pgCount is one facet's counts over the matches m.
func pgCount(facet string, years []string, levelAtYears bool, a *sqlArgs) string {
	c := pgFacet[facet]
	size := strconv.Itoa(pgFacetSize[facet])
	if levelAtYears {
		return "(SELECT 'arobases', split_part(v, ':', 2), count(DISTINCT m.id) FROM m, unnest(m.arobases_annee) v " +
			"WHERE split_part(v, ':', 1) = ANY (" + a.add(years) + "::text[]) GROUP BY 2 ORDER BY 3 DESC LIMIT " + size + ")"
	}
	if c.array {
		return "(SELECT '" + facet + "', v, count(*) FROM m, unnest(m." + c.column + ") v GROUP BY 2 ORDER BY 3 DESC LIMIT " + size + ")"
	}
	return "(SELECT '" + facet + "', m." + c.column + ", count(*) FROM m GROUP BY 2 ORDER BY 3 DESC LIMIT " + size + ")"
}

// pgSearch is the PostgreSQL equivalent of Service.Search, sent as one batch (one round trip):
// the page (with ts_headline snippets of titre and synthèse when there is text), the total with
// the counts of every unfiltered facet, and one statement per filtered facet counting it under
// the other filters (multi-select facets). It returns the total and the ids of the page.
func pgSearch(ctx context.Context, conn *pgx.Conn, v pgVariant, f atlaas.FicheFilter) (int, []int64, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = atlaas.DefaultSearchLimit
	}
	batch := &pgx.Batch{}

	var a sqlArgs
	matches := pgMatches(v, f, "", &a)
	var order string
	switch {
	case f.Sort == atlaas.SortRecent:
		order = "f.updated_at DESC, f.id"
	case f.Sort == atlaas.SortDistance && f.Near != nil:
		order = fmt.Sprintf("ST_Distance(f.geom::geography, ST_SetSRID(ST_MakePoint(%s, %s), 4326)::geography), f.id",
			a.add(f.Near.Lon()), a.add(f.Near.Lat()))
	case f.Q != "":
		order = "ts_rank_cd(" + v.tsv + ", q) DESC, f.id"
	default:
		order = "f.id"
	}
	lim := a.add(limit + 1)
	if f.Q != "" {
		batch.Queue(`SELECT p.id, p.titre, ts_headline('bench_fr', p.titre, p.q, 'StartSel=<mark>, StopSel=</mark>'),
			ts_headline('bench_fr', p.synthese, p.q, 'StartSel=<mark>, StopSel=</mark>')
			FROM (SELECT f.id, f.titre, f.synthese, q, row_number() OVER () AS n FROM (
			      SELECT f.id, f.titre, f.synthese, q FROM `+matches+` ORDER BY `+order+` LIMIT `+lim+`) f) p
			ORDER BY p.n`, a...)
	} else {
		batch.Queue(`SELECT f.id, f.titre, '', '' FROM `+matches+` ORDER BY `+order+` LIMIT `+lim, a...)
	}

	years := f.Filters[atlaas.FacetAnnee]
	a = nil
	counts := []string{"SELECT '', '', count(*) FROM m"}
	for _, facet := range atlaas.Facets {
		if len(f.Filters[facet]) == 0 {
			counts = append(counts, pgCount(facet, nil, false, &a))
		}
	}
	batch.Queue("WITH m AS MATERIALIZED (SELECT "+pgFacetColumns+" FROM "+pgMatches(v, f, "", &a)+")\n"+
		strings.Join(counts, "\nUNION ALL "), a...)
	for _, facet := range atlaas.Facets {
		if len(f.Filters[facet]) == 0 {
			continue
		}
		a = nil
		m := pgMatches(v, f, facet, &a)
		count := pgCount(facet, years, facet == atlaas.FacetArobases && len(years) > 0, &a)
		batch.Queue("WITH m AS MATERIALIZED (SELECT "+pgFacetColumns+" FROM "+m+")\n"+count, a...)
	}

	br := conn.SendBatch(ctx, batch)
	defer br.Close()
	var ids []int64
	rows, err := br.Query()
	if err != nil {
		return 0, nil, err
	}
	for rows.Next() {
		var id int64
		var titre, h1, h2 string
		if err := rows.Scan(&id, &titre, &h1, &h2); err != nil {
			return 0, nil, err
		}
		if len(ids) < limit {
			ids = append(ids, id)
		}
	}
	if err := rows.Err(); err != nil {
		return 0, nil, err
	}
	total := 0
	for i := 1; i < batch.Len(); i++ {
		rows, err := br.Query()
		if err != nil {
			return 0, nil, err
		}
		for rows.Next() {
			var facet string
			var value *string
			var n int
			if err := rows.Scan(&facet, &value, &n); err != nil {
				return 0, nil, err
			}
			if i == 1 && facet == "" {
				total = n
			}
		}
		if err := rows.Err(); err != nil {
			return 0, nil, err
		}
	}
	return total, ids, br.Close()
}

// relevanceQueries are searches an agent would type, with and without accents, some with a
// typo, and the concepts that make a fiche expected for each: every substring of one of the
// alternatives in its title, lower-cased and accent-folded. A concept is the query's intent, not
// its words: "tiers-lieux école numérique" expects the tiers-lieux (no title has all three).
var relevanceQueries = []struct {
	q        string
	concepts [][]string
}{
	{"budjet participatif", [][]string{{"budget participatif"}}},
	{"democratie", [][]string{{"democratie"}}},
	{"tiers-lieux école numérique", [][]string{{"tiers-lieu"}}},
	{"tiers lieu", [][]string{{"tiers-lieu"}}},
	{"mediatheque numerique", [][]string{{"mediatheque", "numerique"}}},
	{"wifi public", [][]string{{"wifi"}}},
	{"conseiller numerique", [][]string{{"conseill", "numerique"}}},
	{"open data", [][]string{{"open data"}, {"donnees ouvertes"}}},
	{"cyberharcelement", [][]string{{"cyberharcelement"}}},
	{"fibre optique", [][]string{{"fibre"}}},
	{"sobriete numerique", [][]string{{"sobriete"}}},
	{"inclusion numerique", [][]string{{"inclusion numerique"}}},
	{"robotique", [][]string{{"robot"}}},
	{"vote en ligne", [][]string{{"vote"}}},
	{"seniors numerique", [][]string{{"senior"}}},
	{"portail famille", [][]string{{"portail famille"}}},
	{"cantine en ligne", [][]string{{"cantine"}}},
	{"accesibilite site internet", [][]string{{"accessib", "site"}}},
	{"dematerialisation", [][]string{{"dematerialis"}}},
	{"mediateur numerique", [][]string{{"mediateur"}}},
}

type relevanceScore struct {
	precision float64
	first     int // 1-based rank of the first expected fiche in the first 10; 0: none
}

func (s relevanceScore) firstString() string {
	if s.first == 0 {
		return "–"
	}
	return strconv.Itoa(s.first)
}

type relevanceRow struct {
	q, concepts string
	expected    int
	bleve, pg   relevanceScore
}

func (r relevanceRow) better() string {
	rank := func(s relevanceScore) int {
		if s.first == 0 {
			return 11
		}
		return s.first
	}
	switch {
	case r.bleve.precision > r.pg.precision+1e-9:
		return "Bleve"
	case r.pg.precision > r.bleve.precision+1e-9:
		return "PG FTS"
	case rank(r.bleve) < rank(r.pg):
		return "Bleve"
	case rank(r.pg) < rank(r.bleve):
		return "PG FTS"
	}
	return "tie"
}

var folder = asciifolding.New()

func foldTitle(s string) string {
	return strings.ReplaceAll(string(folder.Filter([]byte(strings.ToLower(s)))), "’", "'")
}

// relevance runs each relevance query on both engines (first 10 by relevance, no filter).
func (e *benchEnv) relevance(b *testing.B) []relevanceRow {
	b.Helper()
	ctx := context.Background()
	s := e.service(b)
	conn := e.pgConn(b)
	type title struct {
		id     int64
		folded string
	}
	rows, err := conn.Query(ctx, "SELECT id, titre FROM fiches WHERE deleted_at IS NULL")
	if err != nil {
		b.Fatal(err)
	}
	var titles []title
	for rows.Next() {
		var t title
		var titre string
		if err := rows.Scan(&t.id, &titre); err != nil {
			b.Fatal(err)
		}
		t.folded = foldTitle(titre)
		titles = append(titles, t)
	}
	if err := rows.Err(); err != nil {
		b.Fatal(err)
	}
	score := func(got []int64, expected map[int64]bool) relevanceScore {
		var sc relevanceScore
		n := 0
		for i, id := range got {
			if i == 10 {
				break
			}
			if expected[id] {
				n++
				if sc.first == 0 {
					sc.first = i + 1
				}
			}
		}
		if len(expected) > 0 {
			sc.precision = float64(n) / float64(min(10, len(expected)))
		}
		return sc
	}
	titleOf := map[int64]string{}
	verbose := os.Getenv("ATLAAS_BENCH_VERBOSE") == "1"
	if verbose {
		for _, t := range titles {
			titleOf[t.id] = t.folded
		}
	}
	show := func(engine string, got []int64, expected map[int64]bool) {
		for i, id := range got {
			mark := " "
			if expected[id] {
				mark = "*"
			}
			fmt.Printf("  %-6s %2d %s %d %s\n", engine, i+1, mark, id, titleOf[id])
		}
	}
	var out []relevanceRow
	for _, rq := range relevanceQueries {
		expected := map[int64]bool{}
		for _, t := range titles {
			for _, alt := range rq.concepts {
				all := true
				for _, sub := range alt {
					all = all && strings.Contains(t.folded, sub)
				}
				if all {
					expected[t.id] = true
					break
				}
			}
		}
		var desc []string
		for _, alt := range rq.concepts {
			desc = append(desc, "«"+strings.Join(alt, "» + «")+"»")
		}
		row := relevanceRow{q: rq.q, concepts: strings.Join(desc, " or "), expected: len(expected)}
		f := atlaas.FicheFilter{Q: rq.q, Limit: 10}
		res, err := s.Search(ctx, f)
		if err != nil {
			b.Fatal(err)
		}
		var got []int64
		for _, h := range res.Items {
			got = append(got, h.ID)
		}
		row.bleve = score(got, expected)
		_, got, err = pgSearch(ctx, conn, pgVariants[0], f)
		if err != nil {
			b.Fatal(err)
		}
		row.pg = score(got, expected)
		out = append(out, row)
		if verbose {
			fmt.Printf("%q (%d expected, Bleve total %d)\n", rq.q, len(expected), res.Total)
			var bl []int64
			for _, h := range res.Items {
				bl = append(bl, h.ID)
			}
			show("bleve", bl, expected)
			show("pgfts", got, expected)
		}
	}
	return out
}
