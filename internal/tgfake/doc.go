// Package tgfake is a strict, in-memory fake of the Telegram Bot API.
//
// It serves the HTTP protocol the real go-telegram client speaks
// (multipart/form-data POSTs to /bot<token>/<method>, long-polling
// getUpdates, webhooks, file downloads under /file/bot<token>/) and answers
// in Telegram's envelope. Unlike a mock it rejects what Telegram would reject:
// unknown methods and parameters, missing required parameters, values of the
// wrong type, over-long texts and captions, malformed HTML, invalid inline
// keyboards, unknown chats, messages and callback queries. Every call is
// recorded; an end-to-end test asserts that [Server.Rejected] stays empty.
//
// The method and type tables come from the official Bot API description,
// reduced by ./gen into testdata/botapi.json and embedded, so neither tests
// nor `keranjang demo` need the shared source file at run time.
//
// Tests act as Telegram users through [Server.SendText], [Server.PressButton],
// [Server.SendDocument], [Server.SendPhoto] and [Server.PushRaw], script
// failures with [Server.Inject] and [Server.FailNext], and read what the bot
// sent with [Server.Sent] and [Server.WaitSent]. [WithLimits] makes it refuse
// sends over Telegram's flood limits with 429, as Telegram does.
package tgfake

//go:generate go run ./gen -in ../../../shared/telegram-bot-api/api.json -out testdata/botapi.json
