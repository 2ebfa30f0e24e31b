package search

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"atlaas/internal/atlaas"
)

// Service serves searches from the current index and keeps it in step with PostGIS: it builds
// the index when missing or made from another data version, applies the outbox within a
// second of each change, and switches to an index another process (atlaas reindex) built.
type Service struct {
	dir    string
	src    Source
	logger *slog.Logger

	cur      atomic.Pointer[index]
	ready    atomic.Bool
	labelsMu sync.RWMutex
	labels   map[string]map[string]string
	namesMu  sync.RWMutex
	names    map[string]string // collectivité code → name ("" for an unknown code)

	// applied holds the outbox ids above the watermark already applied (not yet settled).
	applied map[int64]bool
	// changes counts the outbox entries applied and the indexes switched to; see Generation.
	changes atomic.Int64
	// PollInterval bounds how late a change is applied when a notification is lost.
	PollInterval time.Duration
}

// NewService returns a service over the index directory dir; Run brings it to life.
func NewService(dir string, src Source, logger *slog.Logger) *Service {
	return &Service{dir: dir, src: src, logger: logger, applied: map[int64]bool{}, PollInterval: time.Second}
}

// errNotReady answers searches while no index exists yet.
var errNotReady = atlaas.Errorf(atlaas.EUNAVAILABLE, "L'index de recherche est en cours de construction ; réessayez dans un instant.")

// Generation names the state of the data the index reflects: it changes when the index is
// rebuilt or switched, and whenever an outbox entry (a change to a fiche or a collectivité) is
// applied, within a second of the change. Caches of answers made from the database (tiles) key
// on it; it is "" while no index is open, and then nothing should be cached.
func (s *Service) Generation() string {
	ix := s.cur.Load()
	if ix == nil || !s.ready.Load() {
		return ""
	}
	return strconv.FormatInt(ix.version, 10) + "." + strconv.FormatInt(s.changes.Load(), 10)
}

// Ready reports whether the index is up to date with the database's data version.
func (s *Service) Ready(context.Context) error {
	if !s.ready.Load() {
		return errNotReady
	}
	return nil
}

// Run opens (or builds) the index, then follows the database until ctx is done; it closes the
// index before returning.
func (s *Service) Run(ctx context.Context) error {
	defer func() {
		if ix := s.cur.Swap(nil); ix != nil {
			ix.bleve.Close()
		}
	}()
	if err := os.MkdirAll(s.dir, 0o755); err != nil {
		return err
	}
	if name, err := currentName(s.dir); err == nil && name != "" {
		if ix, err := openIndex(s.dir, name); err == nil {
			s.cur.Store(ix)
			s.logger.Info("search index: opened", "name", name, "data_version", ix.version, "watermark", ix.watermark)
		} else {
			s.logger.Warn("search index: cannot open the current index; rebuilding", "err", err)
		}
	}
	removeStale(s.dir, s.curName(), time.Now().Add(-time.Hour), s.logger)

	notify := make(chan struct{}, 1)
	listenCtx, stopListen := context.WithCancel(ctx)
	defer stopListen()
	go func() {
		if err := s.src.ListenOutbox(listenCtx, notify); err != nil {
			s.logger.Error("search index: outbox listener stopped", "err", err)
		}
	}()
	ticker := time.NewTicker(s.PollInterval)
	defer ticker.Stop()
	for {
		if err := s.step(ctx); err != nil && ctx.Err() == nil {
			s.logger.Error("search index: sync failed; retrying", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-notify:
		case <-ticker.C:
		}
	}
}

func (s *Service) curName() string {
	if ix := s.cur.Load(); ix != nil {
		return ix.name
	}
	return ""
}

// step brings the index up to date once: switch to a newer index built elsewhere, rebuild on a
// new data version, then apply the outbox.
func (s *Service) step(ctx context.Context) error {
	if name, err := currentName(s.dir); err == nil && name != "" && name != s.curName() {
		ix, err := openIndex(s.dir, name)
		if err != nil {
			return err
		}
		s.swap(ix)
	}
	version, err := s.src.DataVersion(ctx)
	if err != nil {
		return err
	}
	if ix := s.cur.Load(); ix == nil || ix.version != version || ix.mapping != mappingVersion {
		s.ready.Store(false)
		st, err := build(ctx, s.dir, s.src, s.logger)
		if err != nil {
			return err
		}
		ix, err := openIndex(s.dir, st.Name)
		if err != nil {
			return err
		}
		ix.facets.Store(st.facets)
		ix.facetsLoaded = true
		if err := setCurrent(s.dir, st.Name); err != nil {
			ix.bleve.Close()
			return err
		}
		s.swap(ix)
	}
	if ix := s.cur.Load(); ix != nil && !ix.facetsLoaded {
		start := time.Now()
		table, err := loadFacets(ctx, s.src)
		if err != nil {
			return err
		}
		ix.facets.Store(table)
		ix.facetsLoaded = true
		if table != nil {
			s.logger.Info("search index: facet table loaded", "duration", time.Since(start).Round(time.Millisecond), "bytes", table.size())
		} else {
			s.logger.Warn("search index: fiche ids over 32 bits; facets are counted in the index (slower)")
		}
	}
	if err := s.loadLabels(ctx); err != nil {
		return err
	}
	if err := s.applyOutbox(ctx); err != nil {
		return err
	}
	if ix := s.cur.Load(); ix != nil && ix.version == version && ix.mapping == mappingVersion {
		s.ready.Store(true)
	}
	return nil
}

// swap makes ix current, closes and removes the previous index.
func (s *Service) swap(ix *index) {
	old := s.cur.Swap(ix)
	s.changes.Add(1)
	clear(s.applied)
	s.labelsMu.Lock()
	s.labels = nil
	s.labelsMu.Unlock()
	s.namesMu.Lock()
	s.names = nil
	s.namesMu.Unlock()
	if old == nil {
		return
	}
	// Searches in flight on the old index finish first: Bleve's Close waits for them.
	if err := old.bleve.Close(); err != nil {
		s.logger.Warn("search index: closing the previous index", "err", err)
	}
	if err := os.RemoveAll(filepath.Join(s.dir, old.name)); err != nil {
		s.logger.Warn("search index: removing the previous index", "err", err)
	}
	s.logger.Info("search index: switched", "name", ix.name, "data_version", ix.version)
}

func (s *Service) loadLabels(ctx context.Context) error {
	s.labelsMu.RLock()
	have := s.labels != nil
	s.labelsMu.RUnlock()
	if have {
		return nil
	}
	labels, err := s.src.Labels(ctx)
	if err != nil {
		return err
	}
	s.labelsMu.Lock()
	s.labels = labels
	s.labelsMu.Unlock()
	return nil
}

// applyOutbox applies every outbox entry above the watermark: each named fiche is re-read and
// re-indexed (or deleted when gone), which makes applying an entry twice harmless. The
// watermark advances over settled entries only (older than any write transaction can be), so
// that an entry committed late by a slow transaction is never skipped.
func (s *Service) applyOutbox(ctx context.Context) error {
	ix := s.cur.Load()
	if ix == nil {
		return nil
	}
	const page = 1000
	after, watermark, blocked := ix.watermark, ix.watermark, false
	for {
		entries, err := s.src.OutboxAfter(ctx, after, page)
		if err != nil {
			return err
		}
		if len(entries) == 0 {
			return nil
		}
		ids := map[int64]bool{}
		fresh := 0
		for _, e := range entries {
			if !blocked && e.Settled {
				watermark = e.ID
			} else {
				blocked = true
			}
			if s.applied[e.ID] {
				continue
			}
			fresh++
			switch e.Entity {
			case "fiche":
				id, err := strconv.ParseInt(e.EntityID, 10, 64)
				if err != nil {
					return errors.New("outbox: bad fiche id " + e.EntityID)
				}
				ids[id] = true
			case "collectivite":
				fiches, err := s.src.FicheIDsOfCollectivite(ctx, e.EntityID)
				if err != nil {
					return err
				}
				for _, id := range fiches {
					ids[id] = true
				}
			}
		}
		if fresh > 0 {
			// Before the index shows the change: the database holds it already, and
			// caches of answers made from the database must not outlive it.
			s.changes.Add(1)
		}
		if len(ids) > 0 || watermark != ix.watermark {
			if err := s.reindex(ctx, ix, ids, watermark); err != nil {
				return err
			}
		}
		ix.watermark = watermark
		for _, e := range entries {
			if e.ID > watermark {
				s.applied[e.ID] = true
			}
		}
		for id := range s.applied {
			if id <= watermark {
				delete(s.applied, id)
			}
		}
		if len(entries) < page {
			return nil
		}
		after = entries[len(entries)-1].ID
	}
}

// reindex re-reads the fiches from the source and writes them, with the new watermark, in one
// batch.
func (s *Service) reindex(ctx context.Context, ix *index, ids map[int64]bool, watermark int64) error {
	list := make([]int64, 0, len(ids))
	for id := range ids {
		list = append(list, id)
	}
	docs, err := s.src.FicheDocumentsByID(ctx, list)
	if err != nil {
		return err
	}
	batch := ix.bleve.NewBatch()
	for _, d := range docs {
		if err := batch.Index(docID(d.ID), document(d)); err != nil {
			return err
		}
	}
	gone := make([]int64, 0, len(ids))
	for _, d := range docs {
		delete(ids, d.ID)
	}
	for id := range ids {
		batch.Delete(docID(id)) // gone or deleted since
		gone = append(gone, id)
	}
	batch.SetInternal(keyWatermark, putInt(watermark))
	if err := ix.bleve.Batch(batch); err != nil {
		return err
	}
	if table := ix.facets.Load(); table != nil {
		for _, d := range docs {
			if !fits(d.ID) {
				ix.facets.Store(nil) // counted in the index from now on
				break
			}
			table.put(d)
		}
		for _, id := range gone {
			table.remove(id)
		}
	}
	if len(docs) > 0 || len(ids) > 0 {
		s.logger.Debug("search index: applied changes", "indexed", len(docs), "deleted", len(ids), "watermark", watermark)
	}
	return nil
}
