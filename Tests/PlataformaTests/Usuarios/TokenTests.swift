import Fluent
import Foundation
import JWT
import Testing
import Vapor
import VaporTesting
@testable import Plataforma

@Suite("SimpleJWT token endpoints")
struct TokenTests {
    @Test("login with email or username, case-insensitively, returns a SimpleJWT pair")
    func obtainPair() async throws {
        try await withApp { t in
            let user = try await t.makeUser(.coordinador, email: "Laura.Gomez@Example.com")
            for body: JSONValue in [
                ["email": "laura.gomez@example.com", "password": .string(fixturePassword)],
                ["username": "LAURA.GOMEZ@EXAMPLE.COM", "password": .string(fixturePassword)],
            ] {
                let res = try await t.send(.POST, "/api/token/", json: body)
                #expect(res.status == .ok)
                #expect(res.json.objectKeys == ["access", "refresh"])
                let claims = try await t.tokens.decode(res.json["access"].string ?? "", expecting: .access)
                #expect(claims.userID == String(try user.requireID()))
                #expect(claims.rol == "coordinador")
                #expect(claims.jti.count == 32)
                #expect(claims.exp - claims.iat == 300)
                let refresh = try await t.tokens.decode(res.json["refresh"].string ?? "", expecting: .refresh)
                #expect(refresh.exp - refresh.iat == 86_400)
            }
            let stored = try await Usuario.find(user.id, on: t.db)
            #expect(stored?.ultimoAcceso != nil)
        }
    }

    @Test("wrong password, unknown email and inactive account are the same 401")
    func badCredentials() async throws {
        try await withApp { t in
            try await t.makeUser(email: "activo@example.com")
            try await t.makeUser(email: "inactivo@example.com", activo: false)
            for (email, password) in [("activo@example.com", "otra-cosa-123"), ("nadie@example.com", fixturePassword),
                                      ("inactivo@example.com", fixturePassword)] {
                let res = try await t.send(.POST, "/api/token/", json: ["email": .string(email), "password": .string(password)])
                #expect(res.status == .unauthorized)
                #expect(res.json["code"] == "no_active_account")
                #expect(res.json["detail"] == "No se encontró una cuenta activa con las credenciales proporcionadas.")
                #expect(res.headers.first(name: "WWW-Authenticate") == #"Bearer realm="api""#)
            }
        }
    }

    @Test("missing fields and wrong types are 400 with every field error")
    func obtainValidation() async throws {
        try await withApp { t in
            var res = try await t.send(.POST, "/api/token/", json: [:])
            #expect(res.status == .badRequest)
            #expect(res.json == ["email": ["Este campo es requerido."], "password": ["Este campo es requerido."]])
            res = try await t.send(.POST, "/api/token/", json: ["email": ["a"], "password": nil])
            #expect(res.json == ["email": ["No es una cadena válida."], "password": ["Este campo no puede ser nulo."]])
            res = try await t.send(.POST, "/api/token/", json: ["email", "password"])
            #expect(res.status == .badRequest)
            #expect(res.json["non_field_errors"][0] == "Datos inválidos. Se esperaba un diccionario pero es un list.")
        }
    }

    @Test("refresh rotates: a new pair, and the old refresh token is refused")
    func refreshRotates() async throws {
        try await withApp { t in
            let user = try await t.makeUser()
            let pair = try await t.pair(for: user)
            let res = try await t.send(.POST, "/api/token/refresh/", json: ["refresh": .string(pair.refresh ?? "")])
            #expect(res.status == .ok)
            #expect(res.json.objectKeys == ["access", "refresh"])
            #expect(res.json["refresh"].string != pair.refresh)
            let again = try await t.send(.POST, "/api/token/refresh/", json: ["refresh": .string(pair.refresh ?? "")])
            #expect(again.status == .unauthorized)
            #expect(again.json["code"] == "token_not_valid")
            let next = try await t.send(.POST, "/api/token/refresh/", json: ["refresh": res.json["refresh"]])
            #expect(next.status == .ok)
        }
    }

    @Test("20 concurrent refreshes of one token: exactly one 200, the rest 401 token_not_valid")
    func concurrentRefresh() async throws {
        // A grace period longer than any delay a loaded machine can cause: this test is about the race.
        try await withApp(["REFRESH_REUSE_GRACE_SECONDS": "600"]) { t in
            let user = try await t.makeUser()
            let refresh = try await t.pair(for: user).refresh ?? ""
            let responses = try await t.concurrently(20, .POST, "/api/token/refresh/") { _ in ["refresh": .string(refresh)] }
            #expect(responses.filter { $0.status == .ok }.count == 1)
            #expect(responses.filter { $0.status == .unauthorized }.count == 19)
            #expect(responses.filter { $0.status == .unauthorized }.allSatisfy { $0.body["code"] == "token_not_valid" })
            // Within the grace period the losers were only refused: the winner's token still works.
            let winner = try #require(responses.first { $0.status == .ok })
            let next = try await t.send(.POST, "/api/token/refresh/", json: ["refresh": winner.body["refresh"]])
            #expect(next.status == .ok)
            let outstanding = try await TokenEmitido.query(on: t.db).count()
            #expect(outstanding == 3)  // the login, the one winner, and its own refresh
        }
    }

    @Test("a rotated token presented after the grace period revokes the whole family")
    func reuseRevokesFamily() async throws {
        try await withApp(["REFRESH_REUSE_GRACE_SECONDS": "0"]) { t in
            let user = try await t.makeUser()
            let stolen = try await t.pair(for: user).refresh ?? ""
            let rotated = try await t.send(.POST, "/api/token/refresh/", json: ["refresh": .string(stolen)])
            #expect(rotated.status == .ok)
            try await Task.sleep(for: .milliseconds(1_100))
            let reuse = try await t.send(.POST, "/api/token/refresh/", json: ["refresh": .string(stolen)])
            #expect(reuse.status == .unauthorized)
            #expect(reuse.json["code"] == "token_not_valid")
            // The legitimate holder's newest token died with the family.
            let legit = try await t.send(.POST, "/api/token/refresh/", json: ["refresh": rotated.json["refresh"]])
            #expect(legit.status == .unauthorized)
            let family = try await TokenFamilia.query(on: t.db).first()
            #expect(family?.motivo == "reuso")
            // Another login of the same user is untouched.
            let other = try await t.pair(for: user).refresh ?? ""
            #expect(try await t.send(.POST, "/api/token/refresh/", json: ["refresh": .string(other)]).status == .ok)
        }
    }

    @Test("within the grace period a rotated token is refused but the family lives")
    func reuseWithinGrace() async throws {
        try await withApp(["REFRESH_REUSE_GRACE_SECONDS": "30"]) { t in
            let user = try await t.makeUser()
            let first = try await t.pair(for: user).refresh ?? ""
            let rotated = try await t.send(.POST, "/api/token/refresh/", json: ["refresh": .string(first)])
            let retry = try await t.send(.POST, "/api/token/refresh/", json: ["refresh": .string(first)])
            #expect(retry.status == .unauthorized)
            let next = try await t.send(.POST, "/api/token/refresh/", json: ["refresh": rotated.json["refresh"]])
            #expect(next.status == .ok)
        }
    }

    @Test("blacklist logs out: 200 {}, then refresh and a second blacklist are 401")
    func blacklist() async throws {
        try await withApp { t in
            let user = try await t.makeUser()
            let refresh = try await t.pair(for: user).refresh ?? ""
            let res = try await t.send(.POST, "/api/token/blacklist/", json: ["refresh": .string(refresh)])
            #expect(res.status == .ok)
            #expect(res.json == [:])
            #expect(try await t.send(.POST, "/api/token/refresh/", json: ["refresh": .string(refresh)]).status == .unauthorized)
            let twice = try await t.send(.POST, "/api/token/blacklist/", json: ["refresh": .string(refresh)])
            #expect(twice.status == .unauthorized)
            #expect(twice.json["code"] == "token_not_valid")
            let verify = try await t.send(.POST, "/api/token/verify/", json: ["token": .string(refresh)])
            #expect(verify.status == .unauthorized)
        }
    }

    @Test("verify: 200 {} for a good token, 401 token_not_valid for garbage")
    func verify() async throws {
        try await withApp { t in
            let user = try await t.makeUser()
            let pair = try await t.pair(for: user)
            for token in [pair.access, pair.refresh ?? ""] {
                let res = try await t.send(.POST, "/api/token/verify/", json: ["token": .string(token)])
                #expect(res.status == .ok)
                #expect(res.json == [:])
            }
            for token in ["basura", "a.b.c", pair.access + "x", ""] {
                let res = try await t.send(.POST, "/api/token/verify/", json: ["token": .string(token)])
                #expect(res.status == (token.isEmpty ? .badRequest : .unauthorized))
            }
        }
    }

    @Test("an access token is never a refresh token, nor the reverse")
    func tokenTypes() async throws {
        try await withApp { t in
            let user = try await t.makeUser()
            let pair = try await t.pair(for: user)
            let asRefresh = try await t.send(.POST, "/api/token/refresh/", json: ["refresh": .string(pair.access)])
            #expect(asRefresh.status == .unauthorized)
            #expect(asRefresh.json["code"] == "token_not_valid")
            let asAccess = try await t.send(.GET, "/api/auth/me/", token: pair.refresh)
            #expect(asAccess.status == .unauthorized)
            #expect(asAccess.json["code"] == "token_not_valid")
        }
    }

    @Test("expired, forged, other-key, alg:none and HS512 tokens are all 401 token_not_valid")
    func forgedTokens() async throws {
        try await withApp { t in
            let user = try await t.makeUser()
            let id = String(try user.requireID())
            let now = Int(Date().timeIntervalSince1970)
            let expired = TokenClaims(tokenType: .access, exp: now - 10, iat: now - 400, jti: TokenClaims.newJTI(),
                                      userID: id, rol: "mentor", ver: 0)
            let valid = TokenClaims(tokenType: .access, exp: now + 300, iat: now, jti: TokenClaims.newJTI(),
                                    userID: id, rol: "admin", ver: 0)
            let otherKey = JWTKeyCollection()
            await otherKey.add(hmac: HMACKey(from: String(repeating: "otra-clave-secreta-", count: 4)), digestAlgorithm: .sha256)
            let hs512 = JWTKeyCollection()
            await hs512.add(hmac: HMACKey(from: testSecretKey), digestAlgorithm: .sha512)
            let payload = Data(try JSONEncoder().encode(valid)).base64EncodedString()
                .replacingOccurrences(of: "=", with: "").replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            let tokens = [
                try await t.tokens.keys.sign(expired),
                try await otherKey.sign(valid),
                try await hs512.sign(valid, header: ["alg": "HS512"]),
                "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.\(payload).",
                "Bearer",
            ]
            for token in tokens {
                let res = try await t.send(.GET, "/api/auth/me/", token: token)
                #expect(res.status == .unauthorized, "\(token)")
                #expect(res.json["code"] == "token_not_valid")
                #expect(res.headers.first(name: "WWW-Authenticate") == #"Bearer realm="api""#)
            }
            // The same claims signed with our key pass, so the failures above are the forgery.
            let good = try await t.send(.GET, "/api/auth/me/", token: try await t.tokens.keys.sign(valid))
            #expect(good.status == .ok)
            #expect(good.json["rol"] == "mentor")  // permissions come from the database, not the claim
        }
    }

    @Test("a malformed Authorization header is 401; another scheme is ignored (not authenticated)")
    func authorizationHeaderShapes() async throws {
        try await withApp { t in
            var res = try await t.send(.GET, "/api/auth/me/", headers: ["Authorization": "Bearer a b"])
            #expect(res.status == .unauthorized)
            #expect(res.json["code"] == "authentication_failed")
            res = try await t.send(.GET, "/api/auth/me/", headers: ["Authorization": "Basic dXNlcjpwYXNz"])
            #expect(res.status == .unauthorized)
            #expect(res.json == ["detail": "Las credenciales de autenticación no se proveyeron.", "code": "not_authenticated"])
        }
    }

    @Test("deactivating an account makes its tokens 401 user_inactive and its refresh tokens dead")
    func deactivation() async throws {
        try await withApp { t in
            let (_, adminToken) = try await t.userWithToken(.admin)
            let user = try await t.makeUser()
            let pair = try await t.pair(for: user)
            let res = try await t.send(.PATCH, "/api/usuarios/\(try user.requireID())/", token: adminToken, json: ["activo": false])
            #expect(res.status == .ok)
            let me = try await t.send(.GET, "/api/auth/me/", token: pair.access)
            #expect(me.status == .unauthorized)
            #expect(me.json["code"] == "user_inactive")
            let refresh = try await t.send(.POST, "/api/token/refresh/", json: ["refresh": .string(pair.refresh ?? "")])
            #expect(refresh.status == .unauthorized)
        }
    }

    @Test("tokens issued before a password change stop working")
    func passwordChangeRevokes() async throws {
        try await withApp { t in
            let user = try await t.makeUser()
            let old = try await t.pair(for: user)
            let change = try await t.send(.POST, "/api/auth/cambiar-password/", token: old.access,
                                          json: ["password_actual": .string(fixturePassword), "password_nueva": "Girasol-Tranquilo-77"])
            #expect(change.status == .ok)
            #expect(change.json["detail"] == "Contraseña actualizada.")
            let access = try await t.send(.GET, "/api/auth/me/", token: old.access)
            #expect(access.status == .unauthorized)
            #expect(access.json["code"] == "token_not_valid")
            let refresh = try await t.send(.POST, "/api/token/refresh/", json: ["refresh": .string(old.refresh ?? "")])
            #expect(refresh.status == .unauthorized)
            // The pair handed back by the change works, and so does the new password.
            #expect(try await t.send(.GET, "/api/auth/me/", token: change.json["access"].string).status == .ok)
            let login = try await t.send(.POST, "/api/token/", json: ["email": .string(user.email), "password": "Girasol-Tranquilo-77"])
            #expect(login.status == .ok)
        }
    }

    @Test("the blacklist survives a restart: a second app on the same database refuses the token")
    func blacklistDurable() async throws {
        try await withApp { t in
            let user = try await t.makeUser()
            let refresh = try await t.pair(for: user).refresh ?? ""
            #expect(try await t.send(.POST, "/api/token/blacklist/", json: ["refresh": .string(refresh)]).status == .ok)
            // A fresh app shares nothing in memory with the first: a restart, or another replica.
            try await withSecondApp(sharing: t) { second in
                let res = try await second.send(.POST, "/api/token/refresh/", json: ["refresh": .string(refresh)])
                #expect(res.status == .unauthorized)
                #expect(res.json["code"] == "token_not_valid")
            }
        }
    }

    @Test("with rotation off, refresh returns only an access token and the refresh token stays usable")
    func rotationOff() async throws {
        try await withApp(["SIMPLE_JWT_ROTATE_REFRESH_TOKENS": "False"]) { t in
            let user = try await t.makeUser()
            let refresh = try await t.pair(for: user).refresh ?? ""
            for _ in 0..<2 {
                let res = try await t.send(.POST, "/api/token/refresh/", json: ["refresh": .string(refresh)])
                #expect(res.status == .ok)
                #expect(res.json.objectKeys == ["access"])
            }
        }
    }

    @Test("with blacklist-after-rotation off, the old refresh token keeps working")
    func blacklistAfterRotationOff() async throws {
        try await withApp(["SIMPLE_JWT_BLACKLIST_AFTER_ROTATION": "False"]) { t in
            let user = try await t.makeUser()
            let refresh = try await t.pair(for: user).refresh ?? ""
            let first = try await t.send(.POST, "/api/token/refresh/", json: ["refresh": .string(refresh)])
            let second = try await t.send(.POST, "/api/token/refresh/", json: ["refresh": .string(refresh)])
            #expect(first.status == .ok)
            #expect(second.status == .ok)
            #expect(first.json["refresh"] != second.json["refresh"])
        }
    }
}
