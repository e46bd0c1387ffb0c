// Command lobbystats is a module that follows the lobby module (../lobby)
// from the outside: it subscribes to the events of lobby's public players
// table to keep per-room statistics and an activity feed, reads lobby's
// rooms table directly, and calls lobby's reducers (quick_match).
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o lobbystats.wasm ./examples/lobbystats
package main

import (
	"errors"
	"fmt"

	sdk "github.com/interstice/interstice/sdk/go"
)

// Player mirrors lobby's players table (same columns, same order).
type Player struct {
	Name     string  `ist:"name,pk"`
	Room     *string `ist:"room"`
	JoinedAt int64   `ist:"joined_at"`
}

// Room mirrors lobby's rooms table.
type Room struct {
	Name     string   `ist:"name,pk"`
	Capacity uint32   `ist:"capacity"`
	Members  []string `ist:"members"`
	Tags     []string `ist:"tags"`
}

// RoomStats counts what happened in one room.
type RoomStats struct {
	Room   string `ist:"room,pk"`
	Joins  uint64 `ist:"joins"`
	Leaves uint64 `ist:"leaves"`
}

// Activity is one line of the activity feed.
type Activity struct {
	Seq  uint64 `ist:"seq,pk"`
	At   int64  `ist:"at"` // logical time, Unix ns
	Text string `ist:"text"`
}

var (
	roomStats = sdk.Table[RoomStats]("room_stats", sdk.Public)
	activity  = sdk.Table[Activity]("activity", sdk.Public)
	lobbyRoom = sdk.ExternalTable[Room]("lobby", "rooms")
)

func init() {
	sdk.Module("lobbystats", "1.0.0")

	// on_insert_lobby_players
	sdk.OnInsert("lobby", "players", func(ctx *sdk.Ctx, p Player) error {
		return note(ctx, p.Name+" registered")
	})
	// on_update_lobby_players
	sdk.OnUpdate("lobby", "players", func(ctx *sdk.Ctx, old, new Player) error {
		if room(old) == room(new) {
			return nil
		}
		if old.Room != nil {
			if err := bump(*old.Room, func(s *RoomStats) { s.Leaves++ }); err != nil {
				return err
			}
			if err := note(ctx, old.Name+" left "+*old.Room); err != nil {
				return err
			}
		}
		if new.Room != nil {
			if err := bump(*new.Room, func(s *RoomStats) { s.Joins++ }); err != nil {
				return err
			}
			return note(ctx, new.Name+" joined "+*new.Room)
		}
		return nil
	})
	// on_delete_lobby_players
	sdk.OnDelete("lobby", "players", func(ctx *sdk.Ctx, p Player) error {
		return note(ctx, p.Name+" unregistered")
	})

	// quick_match(player) puts player into the emptiest room that has space,
	// by reading lobby.rooms and calling lobby.join in this transaction.
	sdk.Reducer("quick_match", func(ctx *sdk.Ctx, player string) error {
		best, found := Room{}, false
		for r, err := range lobbyRoom.All() {
			if err != nil {
				return err
			}
			if uint32(len(r.Members)) < r.Capacity && (!found || len(r.Members) < len(best.Members)) {
				best, found = r, true
			}
		}
		if !found {
			return errors.New("no room has space")
		}
		if err := ctx.Call("lobby", "join", player, best.Name); err != nil {
			return fmt.Errorf("quick_match %s: %w", player, err)
		}
		return nil
	}, "player")
}

func room(p Player) string {
	if p.Room == nil {
		return ""
	}
	return *p.Room
}

func bump(room string, f func(*RoomStats)) error {
	s, _, err := roomStats.Get(room)
	if err != nil {
		return err
	}
	s.Room = room
	f(&s)
	return roomStats.Upsert(s)
}

func note(ctx *sdk.Ctx, text string) error {
	n, err := activity.Count()
	if err != nil {
		return err
	}
	return activity.Insert(Activity{Seq: uint64(n) + 1, At: ctx.Now().UnixNano(), Text: text})
}

func main() {}
