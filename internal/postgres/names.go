package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// CollectiviteNames returns the names of the collectivités among codes; unknown codes are absent.
func (db *DB) CollectiviteNames(ctx context.Context, codes []string) (map[string]string, error) {
	rows, err := db.pool.Query(ctx, "SELECT code, nom FROM collectivites WHERE code = ANY ($1)", codes)
	if err != nil {
		return nil, fmt.Errorf("collectivité names: %w", err)
	}
	out := make(map[string]string, len(codes))
	var code, nom string
	_, err = pgx.ForEachRow(rows, []any{&code, &nom}, func() error {
		out[code] = nom
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("collectivité names: %w", err)
	}
	return out, nil
}
