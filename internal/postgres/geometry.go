package postgres

import (
	"context"
	"encoding/binary"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/paulmach/orb"
	"github.com/twpayne/go-geom"
	"github.com/twpayne/go-geom/encoding/ewkb"
)

// registerGeometry teaches a connection PostGIS's geometry type: in the binary protocol (COPY and
// parameters) a geometry is its EWKB bytes, which go-geom writes. Reads go through ST_AsGeoJSON
// and ST_X/ST_Y in SQL, never through this codec.
func registerGeometry(ctx context.Context, conn *pgx.Conn) error {
	var oid *uint32
	if err := conn.QueryRow(ctx, "SELECT to_regtype('geometry')::oid").Scan(&oid); err != nil {
		return fmt.Errorf("look up the geometry type: %w", err)
	}
	if oid == nil {
		return nil // PostGIS is not installed yet: the first migration creates it
	}
	conn.TypeMap().RegisterType(&pgtype.Type{Name: "geometry", OID: *oid, Codec: pgtype.ByteaCodec{}})
	return nil
}

// pointEWKB encodes p as an EWKB point in SRID 4326, or returns nil (SQL NULL) for a nil point.
func pointEWKB(p *orb.Point) ([]byte, error) {
	if p == nil {
		return nil, nil
	}
	g := geom.NewPointFlat(geom.XY, []float64{p.Lon(), p.Lat()}).SetSRID(4326)
	return ewkb.Marshal(g, binary.LittleEndian)
}
