// Command bank is a module whose reducer triggers subscriptions: a
// transfer moves money between two accounts, and a subscriber to the
// accounts table writes a statement line for each account it changed. One
// transfer is therefore a cascade of three transactions (the transfer and
// two subscriber runs), which commit as one unit (docs/ABI.md, "A cascade
// commits as one unit"). The crash tests and the bank benchmark use it.
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o bank.wasm ./examples/bank
package main

import (
	"errors"
	"fmt"

	sdk "github.com/interstice/interstice/sdk/go"
)

// Account is one row of the accounts table. Last is the id of the last
// transfer that changed it, so that its subscriber knows which transfer
// a change belongs to.
type Account struct {
	Name    string `ist:"name,pk"`
	Balance int64  `ist:"balance"`
	Last    uint64 `ist:"last"`
}

// Transfer is one row of the transfers table, keyed by the caller's id.
type Transfer struct {
	ID     uint64 `ist:"id,pk"`
	From   string `ist:"from"`
	To     string `ist:"to"`
	Amount int64  `ist:"amount"`
	At     int64  `ist:"at"` // the transaction's time, Unix ns
}

// Statement is one line of an account's statement: the change one
// transfer made to it. Key is "<transfer id>/<account>".
type Statement struct {
	Key     string `ist:"key,pk"`
	Account string `ist:"account"`
	Delta   int64  `ist:"delta"`
	Balance int64  `ist:"balance"`
}

var (
	accounts   = sdk.Table[Account]("accounts", sdk.Public)
	transfers  = sdk.Table[Transfer]("transfers", sdk.Public)
	statements = sdk.Table[Statement]("statements", sdk.Public)
)

func init() {
	sdk.Module("bank", "1.0.0")

	// open(name, balance) creates an account.
	sdk.Reducer("open", func(ctx *sdk.Ctx, name string, balance int64) error {
		return accounts.Insert(Account{Name: name, Balance: balance})
	}, "name", "balance")

	// transfer(id, from, to, amount) moves amount from one account to
	// another and records the transfer under id.
	sdk.Reducer("transfer", func(ctx *sdk.Ctx, id uint64, from, to string, amount int64) error {
		if from == to {
			return errors.New("a transfer needs two accounts")
		}
		if amount <= 0 {
			return fmt.Errorf("amount %d must be positive", amount)
		}
		a, ok, err := accounts.Get(from)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("no account %q", from)
		}
		b, ok, err := accounts.Get(to)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("no account %q", to)
		}
		if a.Balance < amount {
			return fmt.Errorf("account %q holds %d, less than %d", from, a.Balance, amount)
		}
		a.Balance, a.Last = a.Balance-amount, id
		b.Balance, b.Last = b.Balance+amount, id
		if err := accounts.Update(a); err != nil {
			return err
		}
		if err := accounts.Update(b); err != nil {
			return err
		}
		return transfers.Insert(Transfer{ID: id, From: from, To: to, Amount: amount, At: ctx.Now().UnixNano()})
	}, "id", "from", "to", "amount")

	// on_update_bank_accounts writes the statement line of a change.
	sdk.OnUpdate("bank", "accounts", func(ctx *sdk.Ctx, old, new Account) error {
		return statements.Insert(Statement{
			Key:     fmt.Sprintf("%d/%s", new.Last, new.Name),
			Account: new.Name,
			Delta:   new.Balance - old.Balance,
			Balance: new.Balance,
		})
	})
}

func main() {}
