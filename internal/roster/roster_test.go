package roster_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/smsretire/smsretire/internal/campaign"
	"github.com/smsretire/smsretire/internal/roster"
	"github.com/smsretire/smsretire/internal/store"
	"github.com/smsretire/smsretire/internal/testsupport"
)

var hasher = campaign.NewIDHasher(bytes.Repeat([]byte{3}, 32))

const sample = `user_id,phone,email,name,locale,deadline,id_last4
u1,138 1234 5678,a@example.com,张伟,zh-Hans,2026-12-31,123x
u2,+86-139-0000-0000,,,en,2027-01-15,
u3,12345,,,,2026-12-31,
u4,13800000004,not-an-email,,,2026-12-31,
u5,13800000005,,,fr,2026-12-31,
u6,13800000006,,,,31/12/2026,
,13800000007,,,,2026-12-31,
u8,13800000008,,,,2026-12-31,12
`

func TestImport_ReportsBadRowsAndLoadsGoodOnes(t *testing.T) {
	testsupport.EachStore(t, func(t *testing.T, s *store.SQL) {
		ctx := context.Background()
		var problems []roster.Problem
		sum, err := roster.Import(ctx, strings.NewReader(sample), s, roster.Options{Hasher: hasher, OnProblem: func(p roster.Problem) { problems = append(problems, p) }})
		if err != nil {
			t.Fatal(err)
		}
		if sum.Rows != 8 || sum.Added != 2 || sum.Rejected != 6 {
			t.Errorf("summary = %+v", sum)
		}
		wantLines := []int{4, 5, 6, 7, 8, 9}
		if len(problems) != len(wantLines) {
			t.Fatalf("problems = %v", problems)
		}
		for i, p := range problems {
			if p.Line != wantLines[i] || p.Reason == "" {
				t.Errorf("problem %d = %v, want line %d", i, p, wantLines[i])
			}
		}
		u, err := s.UserByID(ctx, "u1")
		if err != nil || u.Phone != "+8613812345678" || u.Name != "张伟" || u.Deadline.String() != "2026-12-31" || !u.HasIDLast4 {
			t.Fatalf("u1 = %+v, %v", u, err)
		}
		h, _ := s.IDLast4Hash(ctx, "u1")
		if !hasher.Match("u1", "123X", h) || hasher.Match("u1", "1234", h) || hasher.Match("u2", "123X", h) {
			t.Error("stored ID hash does not match as it should")
		}
		// Importing the same file again changes nothing.
		sum, err = roster.Import(ctx, strings.NewReader(sample), s, roster.Options{Hasher: hasher})
		if err != nil || sum.Added != 0 || sum.Updated != 0 || sum.Unchanged != 2 {
			t.Errorf("second import = %+v, %v", sum, err)
		}
		if n, _ := s.CountUsers(ctx); n != 2 {
			t.Errorf("users = %d", n)
		}
	})
}

func TestImport_RefusesWrongHeader(t *testing.T) {
	s := testsupport.SQLite(t)
	_, err := roster.Import(context.Background(), strings.NewReader("id,phone\n1,2\n"), s, roster.Options{})
	if err == nil || !strings.Contains(err.Error(), "user_id") {
		t.Fatalf("err = %v", err)
	}
}

// RosterCSV writes n valid roster rows.
func rosterCSV(n int) []byte {
	var b bytes.Buffer
	b.WriteString("user_id,phone,email,name,locale,deadline,id_last4\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "user%07d,+86 139 %04d %04d,user%d@example.com,用户%d,zh-Hans,2027-0%d-15,%04d\n", i, i/10000, i%10000, i, i, 1+i%9, i%10000)
	}
	return b.Bytes()
}

// BenchmarkImport100k measures a 100,000-row import into SQLite (make bench).
func BenchmarkImport100k(b *testing.B) {
	data := rosterCSV(100_000)
	for b.Loop() {
		b.StopTimer()
		s := testsupport.SQLite(b)
		b.StartTimer()
		sum, err := roster.Import(context.Background(), bytes.NewReader(data), s, roster.Options{Hasher: hasher, Now: time.Now()})
		if err != nil || sum.Added != 100_000 {
			b.Fatalf("sum = %+v, %v", sum, err)
		}
	}
	b.ReportMetric(float64(100_000*b.N)/b.Elapsed().Seconds(), "rows/s")
}
