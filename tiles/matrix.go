// Package tiles serves the spatial layers as Mapbox Vector Tiles (OGC API – Tiles, TileJSON
// 3.0.0): one SQL statement per tile builds every requested layer with ST_AsMVT from the
// web-ready geometry, and a cache keyed by the layers' data versions makes a new import show at
// once. It reads layers only through the registry.
package tiles

import (
	"fmt"
	"math"
)

// WebMercatorQuad is the only tile matrix set served (OGC 17-083r4 Annex D).
const (
	TMSID    = "WebMercatorQuad"
	TMSURI   = "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad"
	MaxZoom  = 24
	worldMax = 20037508.3427892
)

// Extent is the MVT tile extent; Buffer the margin (in tile units) drawn beyond each edge so
// that lines and polygon outlines join across tiles.
const (
	Extent = 4096
	Buffer = 64
)

// validTile reports whether z/x/y exists in WebMercatorQuad.
func validTile(z, x, y int) bool {
	if z < 0 || z > MaxZoom {
		return false
	}
	n := 1 << z
	return x >= 0 && y >= 0 && x < n && y < n
}

// tileMatrixSet is the TileMatrixSet document of WebMercatorQuad (OGC 17-083r4 JSON).
func tileMatrixSet() map[string]any {
	var matrices []map[string]any
	for z := 0; z <= MaxZoom; z++ {
		n := 1 << z
		cell := 2 * worldMax / (256 * float64(n))
		matrices = append(matrices, map[string]any{
			"id":               fmt.Sprint(z),
			"scaleDenominator": cell / 0.00028,
			"cellSize":         cell,
			"cornerOfOrigin":   "topLeft",
			"pointOfOrigin":    []float64{-worldMax, worldMax},
			"tileWidth":        256,
			"tileHeight":       256,
			"matrixWidth":      n,
			"matrixHeight":     n,
		})
	}
	return map[string]any{
		"id":                TMSID,
		"title":             "Google Maps Compatible for the World",
		"uri":               TMSURI,
		"crs":               "http://www.opengis.net/def/crs/EPSG/0/3857",
		"orderedAxes":       []string{"E", "N"},
		"wellKnownScaleSet": "http://www.opengis.net/def/wkss/OGC/1.0/GoogleMapsCompatible",
		"tileMatrices":      matrices,
	}
}

// lonLatToTile is the tile at zoom z holding a WGS 84 position.
func lonLatToTile(lon, lat float64, z int) (x, y int) {
	n := float64(int(1) << z)
	x = int((lon + 180) / 360 * n)
	r := lat * math.Pi / 180
	y = int((1 - math.Log(math.Tan(r)+1/math.Cos(r))/math.Pi) / 2 * n)
	return min(max(x, 0), int(n)-1), min(max(y, 0), int(n)-1)
}
