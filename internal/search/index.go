package search

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/index/scorch"

	"atlaas/internal/atlaas"
)

// Source is where the index comes from: PostGIS, through the store (postgres.DB implements it).
type Source interface {
	// DataVersion changes whenever a bulk load replaces data wholesale.
	DataVersion(ctx context.Context) (int64, error)
	// FicheDocuments streams every live fiche from one snapshot, with the data version and the
	// outbox position that snapshot reflects.
	FicheDocuments(ctx context.Context, fn func(atlaas.FicheDocument) error) (version, outboxPos int64, err error)
	// FicheDocumentsByID returns the live fiches among ids; the others are absent.
	FicheDocumentsByID(ctx context.Context, ids []int64) ([]atlaas.FicheDocument, error)
	FicheIDsOfCollectivite(ctx context.Context, code string) ([]int64, error)
	OutboxAfter(ctx context.Context, after int64, limit int) ([]atlaas.OutboxEntry, error)
	// ListenOutbox signals on notify whenever the outbox grows, until ctx is done.
	ListenOutbox(ctx context.Context, notify chan<- struct{}) error
	// Labels gives, per facet, the French label of each value.
	Labels(ctx context.Context) (map[string]map[string]string, error)
	// CollectiviteNames gives the names of the collectivités among codes (unknown ones absent).
	CollectiviteNames(ctx context.Context, codes []string) (map[string]string, error)
}

// Keys of the index's internal storage.
var (
	keyVersion   = []byte("atlaas.data_version")
	keyWatermark = []byte("atlaas.outbox_watermark")
	keyMapping   = []byte("atlaas.mapping_version")
)

// mappingVersion changes with anything that changes what the index holds for the same data:
// the mapping, the analysis, the documents. An index made by another version is rebuilt.
// 1: light French stemmer (stored as no key); 2: Snowball French stemmer.
const mappingVersion = 2

// pointerFile names, inside the index directory, the subdirectory holding the current index.
// Replacing it (write then rename) swaps indexes atomically for every process using the dir.
const pointerFile = "current"

// index is one open Bleve index and what it was built from.
type index struct {
	bleve     bleve.Index
	name      string // its subdirectory
	version   int64  // data version it reflects
	watermark int64  // every outbox entry up to this id is applied
	mapping   int64  // mappingVersion of the binary that built it (0: before there was one)
	// facets counts facet values in memory; nil until loaded (then the index counts them).
	facets atomic.Pointer[facetTable]
	// facetsLoaded is set once facets was filled (or found impossible); only the service's
	// loop reads and writes it.
	facetsLoaded bool
}

func putInt(v int64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, uint64(v))
	return b
}

func getInt(b []byte) int64 {
	if len(b) != 8 {
		return 0
	}
	return int64(binary.BigEndian.Uint64(b))
}

// currentName reads the pointer file ("" when there is no index yet).
func currentName(dir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, pointerFile))
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

// setCurrent points the directory at a new index, atomically.
func setCurrent(dir, name string) error {
	tmp := filepath.Join(dir, pointerFile+".tmp")
	if err := os.WriteFile(tmp, []byte(name+"\n"), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, pointerFile))
}

// openIndex opens the index named by the pointer file.
func openIndex(dir, name string) (*index, error) {
	b, err := bleve.Open(filepath.Join(dir, name))
	if err != nil {
		return nil, fmt.Errorf("open the search index %s: %w", name, err)
	}
	ix := &index{bleve: b, name: name}
	v, err := b.GetInternal(keyVersion)
	if err != nil {
		b.Close()
		return nil, err
	}
	w, err := b.GetInternal(keyWatermark)
	if err != nil {
		b.Close()
		return nil, err
	}
	m, err := b.GetInternal(keyMapping)
	if err != nil {
		b.Close()
		return nil, err
	}
	ix.version, ix.watermark, ix.mapping = getInt(v), getInt(w), getInt(m)
	return ix, nil
}

// BuildStats describe a build.
type BuildStats struct {
	Name      string
	Documents int
	Version   int64
	Duration  time.Duration
	// facets holds the facet values of the documents built, from the same snapshot (nil when
	// a fiche id does not fit the table).
	facets *facetTable
}

// build writes a new index of every fiche of the source into a new subdirectory of dir and
// returns its name; it does not switch to it.
func build(ctx context.Context, dir string, src Source, logger *slog.Logger) (BuildStats, error) {
	start := time.Now()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return BuildStats{}, err
	}
	im, err := newMapping()
	if err != nil {
		return BuildStats{}, err
	}
	name := "index-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	path := filepath.Join(dir, name)
	b, err := bleve.NewUsing(path, im, scorch.Name, scorch.Name, nil)
	if err != nil {
		return BuildStats{}, fmt.Errorf("create the search index: %w", err)
	}
	ok := false
	defer func() {
		if !ok {
			b.Close()
			os.RemoveAll(path)
		}
	}()
	const batchSize = 2000
	batch := b.NewBatch()
	n := 0
	table := newFacetTable()
	flush := func() error {
		if batch.Size() == 0 {
			return nil
		}
		if err := b.Batch(batch); err != nil {
			return err
		}
		batch.Reset()
		return nil
	}
	version, pos, err := src.FicheDocuments(ctx, func(d atlaas.FicheDocument) error {
		if err := batch.Index(docID(d.ID), document(d)); err != nil {
			return err
		}
		if table != nil && fits(d.ID) {
			table.put(d)
		} else {
			table = nil
		}
		n++
		if batch.Size() >= batchSize {
			if err := flush(); err != nil {
				return err
			}
			if n%100_000 == 0 {
				logger.Info("search index: building", "documents", n, "elapsed", time.Since(start).Round(time.Millisecond))
			}
		}
		return ctx.Err()
	})
	if err != nil {
		return BuildStats{}, fmt.Errorf("build the search index: %w", err)
	}
	batch.SetInternal(keyVersion, putInt(version))
	batch.SetInternal(keyWatermark, putInt(pos))
	batch.SetInternal(keyMapping, putInt(mappingVersion))
	if err := b.Batch(batch); err != nil {
		return BuildStats{}, err
	}
	if err := b.Close(); err != nil {
		return BuildStats{}, err
	}
	ok = true
	st := BuildStats{Name: name, Documents: n, Version: version, Duration: time.Since(start), facets: table}
	var tableBytes uint64
	if table != nil {
		tableBytes = table.size()
	}
	logger.Info("search index: built", "name", name, "documents", n, "data_version", version, "duration", st.Duration.Round(time.Millisecond), "facet_table_bytes", tableBytes)
	return st, nil
}

// loadFacets fills a facet table from the source's current snapshot (nil when a fiche id does
// not fit the table). Applying the outbox from the index's watermark afterwards brings both to
// the same state: each entry re-reads its fiches' current values.
func loadFacets(ctx context.Context, src Source) (*facetTable, error) {
	table := newFacetTable()
	_, _, err := src.FicheDocuments(ctx, func(d atlaas.FicheDocument) error {
		if table != nil && fits(d.ID) {
			table.put(d)
		} else {
			table = nil
		}
		return ctx.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("load the facet table: %w", err)
	}
	return table, nil
}

// Rebuild builds a new index from scratch and makes it the current one of dir; a server using
// dir switches to it at its next poll. It is what `atlaas reindex` runs.
func Rebuild(ctx context.Context, dir string, src Source, logger *slog.Logger) (BuildStats, error) {
	st, err := build(ctx, dir, src, logger)
	if err != nil {
		return st, err
	}
	return st, setCurrent(dir, st.Name)
}

// removeStale deletes the index subdirectories of dir other than keep that were last changed
// before the cutoff (a younger one may be a build in progress in another process).
func removeStale(dir, keep string, cutoff time.Time, logger *slog.Logger) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		info, err := e.Info()
		if err != nil || !info.ModTime().Before(cutoff) {
			continue
		}
		if e.IsDir() && strings.HasPrefix(e.Name(), "index-") && e.Name() != keep {
			if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
				logger.Warn("search index: cannot remove an old index", "name", e.Name(), "err", err)
			}
		}
	}
}
