package postgres

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"atlaas/internal/atlaas"
)

// sqlArgs collects the arguments of a parameterised statement.
type sqlArgs []any

// add appends v and returns its placeholder.
func (a *sqlArgs) add(v any) string {
	*a = append(*a, v)
	return "$" + strconv.Itoa(len(*a))
}

// selectionWhere returns the condition selecting the fiches of sel, on a statement in which the
// fiche is aliased f and its collectivité c (joined on c.code = f.collectivite), appending its
// arguments to args. The facets (OR within a facet, AND across facets), bbox and near have the
// meaning they have in the search index. It always excludes deleted fiches.
func selectionWhere(sel atlaas.FicheSelection, args *sqlArgs) string {
	f := sel.Filter
	conds := []string{"f.deleted_at IS NULL"}
	if sel.IDs != nil {
		conds = append(conds, "f.id = ANY ("+args.add(sel.IDs)+"::bigint[])")
	}
	years := f.Filters[atlaas.FacetAnnee]
	for _, facet := range atlaas.Facets {
		values := f.Filters[facet]
		if len(values) == 0 {
			continue
		}
		switch facet {
		case atlaas.FacetEnjeu:
			conds = append(conds, `EXISTS (SELECT 1 FROM fiche_services fs JOIN services sv ON sv.code = fs.service
				WHERE fs.fiche = f.id AND sv.enjeu = ANY (`+args.add(values)+`::text[]))`)
		case atlaas.FacetService:
			conds = append(conds, `EXISTS (SELECT 1 FROM fiche_services fs
				WHERE fs.fiche = f.id AND fs.service = ANY (`+args.add(values)+`::text[]))`)
		case atlaas.FacetRegion:
			conds = append(conds, "c.region = ANY ("+args.add(values)+"::text[])")
		case atlaas.FacetDepartement:
			conds = append(conds, "c.departement = ANY ("+args.add(values)+"::text[])")
		case atlaas.FacetCollectivite:
			conds = append(conds, "f.collectivite = ANY ("+args.add(values)+"::text[])")
		case atlaas.FacetCategorie:
			conds = append(conds, "c.categorie = ANY ("+args.add(values)+"::text[])")
		case atlaas.FacetStatut:
			conds = append(conds, "f.statut = ANY ("+args.add(values)+"::text[])")
		case atlaas.FacetPopulation:
			conds = append(conds, populationCondition(values, args))
		case atlaas.FacetAnnee:
			conds = append(conds, `EXISTS (SELECT 1 FROM fiche_editions fe
				WHERE fe.fiche = f.id AND fe.annee = ANY (`+args.add(smallints(values))+`::smallint[]))`)
		case atlaas.FacetArobases:
			// The collectivité's level at one of the fiche's éditions, or at one of the
			// selected éditions among them: as the index's arobases and annee:arobases fields.
			inYears := ""
			if len(years) > 0 {
				inYears = " AND fe.annee = ANY (" + args.add(smallints(years)) + "::smallint[])"
			}
			conds = append(conds, `EXISTS (SELECT 1 FROM fiche_editions fe
				JOIN participations p ON p.collectivite = f.collectivite AND p.annee = fe.annee
				WHERE fe.fiche = f.id`+inYears+` AND p.arobases = ANY (`+args.add(smallints(values))+`::smallint[]))`)
		case atlaas.FacetMention:
			conds = append(conds, `EXISTS (SELECT 1 FROM fiche_editions fe
				JOIN palmares pm ON pm.collectivite = f.collectivite AND pm.annee = fe.annee
				WHERE fe.fiche = f.id AND pm.mention = ANY (`+args.add(values)+`::text[]))`)
		}
	}
	if b := f.BBox; b != nil {
		conds = append(conds, "ST_Intersects(f.geom, ST_MakeEnvelope("+args.add(b.Min.Lon())+", "+args.add(b.Min.Lat())+", "+
			args.add(b.Max.Lon())+", "+args.add(b.Max.Lat())+", 4326))")
	}
	if p := f.Near; p != nil {
		// On the sphere, as the index measures distances.
		conds = append(conds, "ST_DWithin(f.geom::geography, ST_SetSRID(ST_MakePoint("+args.add(p.Lon())+", "+args.add(p.Lat())+
			"), 4326)::geography, "+args.add(f.Km*1000)+", false)")
	}
	return strings.Join(conds, "\n\t  AND ")
}

// populationCondition selects the collectivités in any of the population bands; an unknown
// population counts as 0, as in the index.
func populationCondition(bands []string, args *sqlArgs) string {
	var ors []string
	for _, code := range bands {
		for i, b := range atlaas.PopulationBands {
			if b.Code != code {
				continue
			}
			cond := "coalesce(c.population, 0) >= " + args.add(b.Min)
			if i+1 < len(atlaas.PopulationBands) {
				cond += " AND coalesce(c.population, 0) < " + args.add(atlaas.PopulationBands[i+1].Min)
			}
			ors = append(ors, "("+cond+")")
		}
	}
	if len(ors) == 0 {
		return "false"
	}
	return "(" + strings.Join(ors, " OR ") + ")"
}

// smallints converts facet values that are numbers (éditions, @ levels); the search validation
// has refused any other value before, and one that slips through matches nothing.
func smallints(values []string) []int16 {
	out := make([]int16, 0, len(values))
	for _, v := range values {
		if n, err := strconv.ParseInt(v, 10, 16); err == nil {
			out = append(out, int16(n))
		}
	}
	return out
}

// CountFiches returns the number of live fiches sel selects.
func (db *DB) CountFiches(ctx context.Context, sel atlaas.FicheSelection) (int, error) {
	var args sqlArgs
	sql := "SELECT count(*) FROM fiches f JOIN collectivites c ON c.code = f.collectivite WHERE " + selectionWhere(sel, &args)
	var n int
	if err := db.pool.QueryRow(ctx, sql, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count fiches: %w", err)
	}
	return n, nil
}
