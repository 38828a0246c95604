package connect

import (
	"testing"

	"github.com/haiduong/hub/internal/testdb"
)

func TestMain(m *testing.M) { testdb.Main(m) }
