package spatial

import (
	"fmt"
	"strconv"
	"strings"
)

// CRS is a coordinate reference system the API offers, as OGC API – Features Part 2 names it.
type CRS struct {
	URI  string
	SRID int
	// LatLon is true when the CRS's first axis is latitude (EPSG:4326, EPSG:4756): GeoJSON
	// output and bbox/filter input then come in latitude, longitude order.
	LatLon bool
	// Degrees tells how many decimals a coordinate needs (8 for degrees, 3 for metres) when
	// it had to be transformed.
	Degrees bool
}

// CRS84 is the default: WGS 84 longitude, latitude.
const CRS84URI = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"

func epsg(code int, latLon, degrees bool) CRS {
	return CRS{URI: "http://www.opengis.net/def/crs/EPSG/0/" + strconv.Itoa(code), SRID: code, LatLon: latLon, Degrees: degrees}
}

// offeredCRS are the systems every collection can be served in, besides its storage CRS:
// WGS 84 both ways round, Web Mercator, VN-2000 geographic and UTM 48N, and the VN-2000 TM-3
// zones of the region (Hải Dương 105°30′, Hải Phòng 105°45′, and their neighbours).
var offeredCRS = func() []CRS {
	list := []CRS{{URI: CRS84URI, SRID: 4326, Degrees: true}, epsg(4326, true, true), epsg(3857, false, false),
		epsg(4756, true, true), epsg(3405, false, false)}
	for code := 9205; code <= 9218; code++ {
		list = append(list, epsg(code, false, false))
	}
	return list
}()

// crsList is the collection's CRS list with its storage CRS included.
func crsList(storageSRID int) []CRS {
	for _, c := range offeredCRS {
		if c.SRID == storageSRID {
			return offeredCRS
		}
	}
	return append(offeredCRS, epsg(storageSRID, false, false))
}

// storageCRS is the CRS a layer's geometry is stored in.
func storageCRS(srid int) CRS {
	if srid == 4326 {
		return CRS{URI: CRS84URI, SRID: 4326, Degrees: true}
	}
	for _, c := range offeredCRS {
		if c.SRID == srid {
			return c
		}
	}
	return epsg(srid, false, false)
}

// parseCRS reads a CRS given as an OGC URI, a safe CURIE ([EPSG:9209]) or EPSG:9209, and
// checks that the collection offers it.
func parseCRS(s string, storageSRID int) (CRS, error) {
	uri := strings.TrimSpace(s)
	uri = strings.TrimSuffix(strings.TrimPrefix(uri, "["), "]")
	switch {
	case strings.EqualFold(uri, "CRS84"), strings.EqualFold(uri, "OGC:CRS84"):
		uri = CRS84URI
	case strings.HasPrefix(strings.ToUpper(uri), "EPSG:"):
		uri = "http://www.opengis.net/def/crs/EPSG/0/" + uri[5:]
	}
	uri = strings.Replace(uri, "https://", "http://", 1)
	for _, c := range crsList(storageSRID) {
		if c.URI == uri {
			return c, nil
		}
	}
	return CRS{}, fmt.Errorf("unsupported CRS %q", s)
}
