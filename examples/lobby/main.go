// Command lobby is a game lobby module: players register, create rooms and
// join or leave them. Its tables are public, so other modules can read them
// and subscribe to their events (see ../lobbystats).
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o lobby.wasm ./examples/lobby
package main

import (
	"errors"
	"fmt"
	"slices"

	sdk "github.com/interstice/interstice/sdk/go"
)

// Player is one registered player.
type Player struct {
	Name     string  `ist:"name,pk"`
	Room     *string `ist:"room"`      // nil while in no room
	JoinedAt int64   `ist:"joined_at"` // logical time of registration, Unix ns
}

// Room is one room, with its members in joining order.
type Room struct {
	Name     string   `ist:"name,pk"`
	Capacity uint32   `ist:"capacity"`
	Members  []string `ist:"members"`
	Tags     []string `ist:"tags"`
}

var (
	players = sdk.Table[Player]("players", sdk.Public)
	rooms   = sdk.Table[Room]("rooms", sdk.Public)
)

func init() {
	sdk.Module("lobby", "1.0.0")
	sdk.Reducer("register", register, "name")
	sdk.Reducer("create_room", createRoom, "name", "capacity", "tags")
	sdk.Reducer("join", join, "player", "room")
	sdk.Reducer("leave", leave, "player")
	sdk.Reducer("unregister", unregister, "name")
}

func register(ctx *sdk.Ctx, name string) error {
	if name == "" {
		return errors.New("a player needs a name")
	}
	err := players.Insert(Player{Name: name, JoinedAt: ctx.Now().UnixNano()})
	if errors.Is(err, sdk.ErrDuplicateKey) {
		return fmt.Errorf("player %q is already registered", name)
	}
	return err
}

func createRoom(ctx *sdk.Ctx, name string, capacity uint32, tags []string) error {
	if capacity == 0 {
		return errors.New("a room needs room for at least one player")
	}
	err := rooms.Insert(Room{Name: name, Capacity: capacity, Members: []string{}, Tags: tags})
	if errors.Is(err, sdk.ErrDuplicateKey) {
		return fmt.Errorf("room %q exists", name)
	}
	return err
}

func join(ctx *sdk.Ctx, player, room string) error {
	p, ok, err := players.Get(player)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("no player %q", player)
	}
	if p.Room != nil {
		if *p.Room == room {
			return nil
		}
		if err := leave(ctx, player); err != nil {
			return err
		}
	}
	r, ok, err := rooms.Get(room)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("no room %q", room)
	}
	if uint32(len(r.Members)) >= r.Capacity {
		return fmt.Errorf("room %q is full (%d players)", room, r.Capacity)
	}
	r.Members = append(r.Members, player)
	p.Room = &room
	if err := rooms.Update(r); err != nil {
		return err
	}
	ctx.Logf("%s joined %s", player, room)
	return players.Update(p)
}

func leave(ctx *sdk.Ctx, player string) error {
	p, ok, err := players.Get(player)
	if err != nil || !ok || p.Room == nil {
		return err
	}
	r, ok, err := rooms.Get(*p.Room)
	if err != nil {
		return err
	}
	if ok {
		r.Members = slices.DeleteFunc(r.Members, func(m string) bool { return m == player })
		if err := rooms.Update(r); err != nil {
			return err
		}
	}
	p.Room = nil
	return players.Update(p)
}

func unregister(ctx *sdk.Ctx, name string) error {
	if err := leave(ctx, name); err != nil {
		return err
	}
	return players.Delete(name)
}

func main() {}
