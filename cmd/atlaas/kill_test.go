package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"atlaas/internal/postgres/pgtest"
)

// TestKilledServerMissesNoChange runs the real binary on the demo atlas, changes fiches through
// SQL while it follows the outbox, kills it (SIGKILL) in the middle of the stream, keeps
// changing, restarts it on the same index directory, and checks through the HTTP API that every
// change is visible: updated titles, soft deletions and new fiches.
func TestKilledServerMissesNoChange(t *testing.T) {
	start := time.Now()
	bin := buildAtlaas(t)
	t.Logf("binary built in %s", time.Since(start).Round(time.Millisecond))
	u := pgtest.MustURL(t)
	start = time.Now()
	loadDemo(t, u)
	t.Logf("demo loaded in %s", time.Since(start).Round(time.Millisecond))
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })

	// What the writer will change, chosen before the server starts.
	const nUpdates, nDeletes, nInserts = 200, 6, 6
	rows, err := conn.Query(ctx, `SELECT id FROM fiches WHERE deleted_at IS NULL ORDER BY md5(id::text) LIMIT $1`, nUpdates+nDeletes)
	if err != nil {
		t.Fatal(err)
	}
	picked, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		t.Fatal(err)
	}
	if len(picked) != nUpdates+nDeletes {
		t.Fatalf("%d live fiches, want at least %d", len(picked), nUpdates+nDeletes)
	}
	updated, deleted := picked[:nUpdates], picked[nUpdates:]
	// New fiches: a collectivité taking part in an édition, with a service of that édition.
	type newFiche struct {
		collectivite, service string
		annee                 int
	}
	rows, err = conn.Query(ctx, `SELECT p.collectivite, p.annee::int,
		       (SELECT min(se.service) FROM service_editions se WHERE se.annee = p.annee)
		FROM participations p ORDER BY p.annee DESC, p.collectivite LIMIT $1`, nInserts)
	if err != nil {
		t.Fatal(err)
	}
	inserts, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (newFiche, error) {
		var f newFiche
		err := r.Scan(&f.collectivite, &f.annee, &f.service)
		return f, err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(inserts) != nInserts {
		t.Fatalf("%d participations, want %d", len(inserts), nInserts)
	}

	srv := &atlaasServer{t: t, args: []string{"serve", "--database-url", u, "--addr", freeAddr(t),
		"--index-dir", filepath.Join(t.TempDir(), "index"), "--log-format", "json"}, bin: bin}
	t.Cleanup(srv.cleanup)
	start = time.Now()
	srv.start()
	srv.waitReady(2 * time.Minute)
	t.Logf("server ready (index built) in %s", time.Since(start).Round(time.Millisecond))
	base := srv.url() + "/api/v1"

	// The fiches to delete that were not updated are found by their own title before: their
	// absence afterwards then means the index dropped them.
	type deletedFiche struct {
		id                  int64
		titre, collectivite string
	}
	var gone []deletedFiche
	for _, id := range deleted {
		d := deletedFiche{id: id}
		if err := conn.QueryRow(ctx, `SELECT titre, collectivite FROM fiches WHERE id = $1`, id).Scan(&d.titre, &d.collectivite); err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(phraseHits(t, base, d.titre, d.collectivite), id) {
			t.Fatalf("fiche %d not found by its title %q before the changes", id, d.titre)
		}
		gone = append(gone, d)
	}

	// The writer: each change commits on its own, with a pause, so that the kill falls among
	// them. Some updated fiches are deleted later in the stream; new fiches come with their
	// service and édition in one transaction.
	type change struct {
		what string
		do   func(ctx context.Context) error
	}
	var changes []change
	sqlChange := func(what, sql string, args ...any) change {
		return change{what, func(ctx context.Context) error {
			_, err := conn.Exec(ctx, sql, args...)
			return err
		}}
	}
	deleteUpdated := map[int]int{60: 10, 120: 70, 170: 120, 195: 145} // step → index in updated
	for i, id := range updated {
		changes = append(changes, sqlChange(fmt.Sprintf("update fiche %d", id),
			`UPDATE fiches SET titre = 'Ludothèque numérique ' || $1, version = version + 1, updated_at = now() WHERE id = $2`, strconv.Itoa(i), id))
		if i%33 == 16 {
			id := deleted[i/33]
			changes = append(changes, sqlChange(fmt.Sprintf("delete fiche %d", id), `UPDATE fiches SET deleted_at = now() WHERE id = $1`, id))
		}
		if j, ok := deleteUpdated[i]; ok {
			id := updated[j]
			changes = append(changes, sqlChange(fmt.Sprintf("delete updated fiche %d", id), `UPDATE fiches SET deleted_at = now() WHERE id = $1`, id))
		}
		if i%35 == 20 {
			f, n := inserts[i/35], 1000+i/35
			changes = append(changes, change{fmt.Sprintf("insert fiche %d", n), func(ctx context.Context) error {
				return pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
					var id int64
					err := tx.QueryRow(ctx, `INSERT INTO fiches (collectivite, titre, synthese, statut, source)
						VALUES ($1, 'Ludothèque numérique ' || $2, 'Jeux en réseau à la médiathèque.', 'en_cours', 'api') RETURNING id`,
						f.collectivite, strconv.Itoa(n)).Scan(&id)
					if err != nil {
						return err
					}
					if _, err := tx.Exec(ctx, `INSERT INTO fiche_services (fiche, service) VALUES ($1, $2)`, id, f.service); err != nil {
						return err
					}
					_, err = tx.Exec(ctx, `INSERT INTO fiche_editions (fiche, annee) VALUES ($1, $2)`, id, f.annee)
					return err
				})
			}})
		}
	}
	if got, want := len(changes), nUpdates+nDeletes+len(deleteUpdated)+nInserts; got != want {
		t.Fatalf("%d changes planned, want %d", got, want)
	}

	var done atomic.Int64 // changes committed
	killed := make(chan struct{})
	writerErr := make(chan error, 1)
	go func() {
		for i, c := range changes {
			if i == len(changes)*2/3 {
				// Guarantees that the last third comes after the kill, however slow the server.
				select {
				case <-killed:
				case <-time.After(2 * time.Minute):
					writerErr <- errors.New("the server was not killed within 2 minutes")
					return
				}
			}
			cctx, cancel := context.WithTimeout(ctx, time.Minute)
			err := c.do(cctx)
			cancel()
			if err != nil {
				writerErr <- fmt.Errorf("change %d (%s): %w", i, c.what, err)
				return
			}
			done.Add(1)
			time.Sleep(15 * time.Millisecond)
		}
		writerErr <- nil
	}()

	// Kill once a third of the changes are in and the server has visibly applied some of them:
	// it is then following the stream, and the kill lands in the middle of it.
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if n := done.Load(); n >= int64(len(changes)/3) {
			var r searchBody
			getJSON(t, base+"/fiches?q=ludotheque&limit=1", http.StatusOK, &r)
			if r.Total > 0 {
				t.Logf("killing the server: %d of %d changes committed, %d renamed fiches already in its index", n, len(changes), r.Total)
				break
			}
		}
		select {
		case err := <-writerErr:
			t.Fatalf("writer stopped before the kill: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 2 minutes, %d changes committed and none found by the server", done.Load())
		}
		time.Sleep(10 * time.Millisecond)
	}
	srv.kill()
	atKill := done.Load()
	close(killed)
	if err := <-writerErr; err != nil {
		t.Fatal(err)
	}
	t.Logf("killed with %d changes committed; %d more committed while it was down; restarting", atKill, int64(len(changes))-atKill)
	if atKill >= int64(len(changes)) {
		t.Fatal("every change was committed before the kill")
	}

	srv.start()
	srv.waitReady(2 * time.Minute)
	restarted := time.Now()

	// Every change must show; poll (the index applies changes asynchronously), but what is
	// asserted is that nothing is missed, not how fast.
	check := func() []string {
		var problems []string
		want := map[int64]string{}
		rows, err := conn.Query(ctx, `SELECT id, titre FROM fiches WHERE deleted_at IS NULL AND titre LIKE 'Ludothèque numérique %'`)
		if err != nil {
			t.Fatal(err)
		}
		var id int64
		var titre string
		if _, err := pgx.ForEachRow(rows, []any{&id, &titre}, func() error { want[id] = titre; return nil }); err != nil {
			t.Fatal(err)
		}
		if n := nUpdates - len(deleteUpdated) + nInserts; len(want) != n {
			t.Fatalf("SQL: %d live renamed or new fiches, want %d", len(want), n)
		}
		got := map[int64]string{}
		cursor := ""
		for page := 0; ; page++ {
			if page > 10 {
				t.Fatal("more than 10 pages of 100 for q=ludotheque")
			}
			var r struct {
				Items []struct {
					ID    int64  `json:"id"`
					Titre string `json:"titre"`
				} `json:"items"`
				NextCursor string `json:"next_cursor"`
			}
			getJSON(t, base+"/fiches?q=ludotheque&limit=100&cursor="+url.QueryEscape(cursor), http.StatusOK, &r)
			for _, it := range r.Items {
				got[it.ID] = it.Titre
			}
			if cursor = r.NextCursor; cursor == "" {
				break
			}
		}
		var missing, extra, stale []int64
		for id, titre := range want {
			switch g, ok := got[id]; {
			case !ok:
				missing = append(missing, id)
			case g != titre:
				stale = append(stale, id)
			}
		}
		for id := range got {
			if _, ok := want[id]; !ok {
				extra = append(extra, id)
			}
		}
		for _, l := range []struct {
			what string
			ids  []int64
		}{{"missing", missing}, {"still found though deleted", extra}, {"with an old title", stale}} {
			if len(l.ids) > 0 {
				slices.Sort(l.ids)
				problems = append(problems, fmt.Sprintf("q=ludotheque: %d fiches %s: %v", len(l.ids), l.what, l.ids))
			}
		}
		for _, d := range gone {
			if slices.Contains(phraseHits(t, base, d.titre, d.collectivite), d.id) {
				problems = append(problems, fmt.Sprintf("deleted fiche %d still found by its title %q", d.id, d.titre))
			}
		}
		var all searchBody
		getJSON(t, base+"/fiches?limit=1", http.StatusOK, &all)
		if live := queryInt(t, conn, `SELECT count(*) FROM fiches WHERE deleted_at IS NULL`); all.Total != live {
			problems = append(problems, fmt.Sprintf("all fiches: %d in the index, %d live in PostGIS", all.Total, live))
		}
		return problems
	}
	deadline = time.Now().Add(30 * time.Second)
	for {
		problems := check()
		if len(problems) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("30 s after the restart, changes are missing:\n%s", strings.Join(problems, "\n"))
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("every change visible %s after the restart was ready", time.Since(restarted).Round(time.Millisecond))

	// The detail reads PostGIS: deleted fiches are gone, new ones are there.
	for _, d := range gone {
		getJSON(t, fmt.Sprintf("%s/fiches/%d", base, d.id), http.StatusNotFound, nil)
	}
	for _, j := range deleteUpdated {
		getJSON(t, fmt.Sprintf("%s/fiches/%d", base, updated[j]), http.StatusNotFound, nil)
	}
	rows, err = conn.Query(ctx, `SELECT id FROM fiches WHERE source = 'api'`)
	if err != nil {
		t.Fatal(err)
	}
	newIDs, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		t.Fatal(err)
	}
	if len(newIDs) != nInserts {
		t.Fatalf("%d new fiches in PostGIS, want %d", len(newIDs), nInserts)
	}
	for _, id := range newIDs {
		var d struct {
			ID     int64
			Titre  string
			Annees []int
		}
		getJSON(t, fmt.Sprintf("%s/fiches/%d", base, id), http.StatusOK, &d)
		if d.ID != id || !strings.HasPrefix(d.Titre, "Ludothèque numérique ") || len(d.Annees) != 1 {
			t.Errorf("new fiche %d: %+v", id, d)
		}
	}
}

// phraseHits returns the ids of the fiches of collectivite found by the quoted phrase.
func phraseHits(t *testing.T, base, phrase, collectivite string) []int64 {
	t.Helper()
	var r searchBody
	getJSON(t, base+"/fiches?limit=100&collectivite="+url.QueryEscape(collectivite)+"&q="+url.QueryEscape(`"`+phrase+`"`), http.StatusOK, &r)
	var ids []int64
	for _, it := range r.Items {
		ids = append(ids, it.ID)
	}
	return ids
}

// buildAtlaas builds the real binary once per test run.
func buildAtlaas(t *testing.T) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the go command is needed to build the binary: %v", err)
		}
		t.Skipf("the go command is needed to build the binary: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "atlaas")
	out, err := exec.Command(goTool, "build", "-o", bin, "atlaas/cmd/atlaas").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// freeAddr returns a TCP address on 127.0.0.1 that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// atlaasServer is the binary run as a subprocess, which can be killed and started again with
// the same arguments; its stderr (over every run) is shown when the test fails.
type atlaasServer struct {
	t      *testing.T
	bin    string
	args   []string
	stderr lockedBuffer
	runs   int

	cmd    *exec.Cmd
	exited chan struct{} // closed when cmd has been waited for
}

func (s *atlaasServer) start() {
	s.t.Helper()
	s.runs++
	fmt.Fprintf(&s.stderr, "--- run %d ---\n", s.runs)
	s.cmd = exec.Command(s.bin, s.args...)
	s.cmd.Stdout = &s.stderr
	s.cmd.Stderr = &s.stderr
	if err := s.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	exited := make(chan struct{})
	s.exited = exited
	cmd, run := s.cmd, s.runs
	go func() {
		err := cmd.Wait()
		fmt.Fprintf(&s.stderr, "--- run %d ended: %v ---\n", run, err)
		close(exited)
	}()
}

func (s *atlaasServer) url() string {
	return "http://" + s.args[slices.Index(s.args, "--addr")+1]
}

// waitReady polls /readyz until it answers 200.
func (s *atlaasServer) waitReady(limit time.Duration) {
	s.t.Helper()
	client := &http.Client{Timeout: 5 * time.Second}
	deadline := time.Now().Add(limit)
	for {
		res, err := client.Get(s.url() + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-s.exited:
			s.t.Fatal("the server exited before it was ready")
		default:
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("/readyz not 200 after %s", limit)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// kill sends SIGKILL and waits for the process to be gone.
func (s *atlaasServer) kill() {
	select {
	case <-s.exited:
		return
	default:
	}
	s.cmd.Process.Kill() //nolint:errcheck // it may have exited meanwhile: waited for below
	<-s.exited
}

// cleanup kills a running server and, if the test failed, shows the end of its output.
func (s *atlaasServer) cleanup() {
	if s.cmd != nil {
		s.kill()
	}
	if s.t.Failed() {
		// Request logs and the polls of /readyz would drown the rest: only their number is kept.
		var lines []string
		left := 0
		for _, l := range strings.Split(s.stderr.String(), "\n") {
			if strings.Contains(l, `"msg":"http request"`) || strings.Contains(l, `"msg":"readiness check failed"`) {
				left++
				continue
			}
			lines = append(lines, l)
		}
		if len(lines) > 60 {
			lines = append([]string{"…"}, lines[len(lines)-60:]...)
		}
		s.t.Logf("server output without its %d request and readiness logs (tail):\n%s", left, strings.Join(lines, "\n"))
	}
}

// lockedBuffer is a bytes.Buffer safe for concurrent writers.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
