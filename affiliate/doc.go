// Package affiliate holds Keranjang's domain: users, sellers, products, basket links and clicks, the
// money and commission-rate types, and the rules about them as pure functions. It imports only the
// standard library; storage, Telegram and HTTP live in other packages and speak in these types.
package affiliate
