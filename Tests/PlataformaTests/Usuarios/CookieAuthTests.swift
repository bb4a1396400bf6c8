import Foundation
import Testing
import Vapor
import VaporTesting
@testable import Plataforma

@Suite("Cookie mode, CSRF and the caller's own account")
struct CookieAuthTests {
    /// Logs in through `/api/auth/login/` and returns the cookies set.
    static func login(_ t: TestApp, email: String) async throws -> [String: HTTPCookies.Value] {
        let res = try await t.send(.POST, "/api/auth/login/", json: ["email": .string(email), "password": .string(fixturePassword)])
        #expect(res.status == .ok)
        return res.cookies
    }

    static func cookieHeader(_ cookies: [String: HTTPCookies.Value], only names: [String]? = nil) -> String {
        cookies.filter { names?.contains($0.key) ?? true }.map { "\($0.key)=\($0.value.string)" }.joined(separator: "; ")
    }

    @Test("login sets HttpOnly/Secure/SameSite=Strict token cookies and a script-readable csrftoken")
    func loginCookies() async throws {
        try await withApp { t in
            let user = try await t.makeUser(email: "cookie@example.com", nombre: "Coco")
            let res = try await t.send(.POST, "/api/auth/login/", json: ["email": "cookie@example.com", "password": .string(fixturePassword)])
            #expect(res.status == .ok)
            #expect(res.json["usuario"]["id"].int == user.id)
            #expect(res.json["usuario"]["nombre"] == "Coco")
            let cookies = res.cookies
            let access = try #require(cookies["access_token"])
            #expect(access.isHTTPOnly && access.isSecure && access.sameSite == .strict && access.path == "/")
            #expect(access.maxAge == 300)
            let refresh = try #require(cookies["refresh_token"])
            #expect(refresh.isHTTPOnly && refresh.isSecure && refresh.sameSite == .strict)
            #expect(refresh.path == "/api/auth/")
            let csrf = try #require(cookies["csrftoken"])
            #expect(!csrf.isHTTPOnly && csrf.sameSite == .strict && csrf.string.count == 32)
            let bad = try await t.send(.POST, "/api/auth/login/", json: ["email": "cookie@example.com", "password": "mal-123456"])
            #expect(bad.status == .unauthorized)
            #expect(bad.cookies.isEmpty)
        }
        try await withApp(["COOKIE_SECURE": "False"]) { t in
            try await t.makeUser(email: "plain@example.com")
            let cookies = try await Self.login(t, email: "plain@example.com")
            #expect(cookies["access_token"]?.isSecure == false)
        }
    }

    @Test("cookie-authenticated unsafe requests need X-CSRFToken equal to the cookie; safe ones and Bearer don't")
    func csrf() async throws {
        try await withApp { t in
            try await t.makeUser(email: "csrf@example.com")
            let cookies = try await Self.login(t, email: "csrf@example.com")
            let header = Self.cookieHeader(cookies)
            let csrf = cookies["csrftoken"]?.string ?? ""
            let me = try await t.send(.GET, "/api/auth/me/", headers: ["Cookie": header])
            #expect(me.status == .ok)
            #expect(me.json["email"] == "csrf@example.com")

            var res = try await t.send(.PATCH, "/api/auth/me/", json: ["nombre": "Sin token"], headers: ["Cookie": header])
            #expect(res.status == .forbidden)
            #expect(res.json["code"] == "csrf_failed")
            let wrong = (csrf.first == "x" ? "y" : "x") + csrf.dropFirst()
            res = try await t.send(.PATCH, "/api/auth/me/", json: ["nombre": "Token malo"], headers: ["Cookie": header, "X-CSRFToken": .init(wrong)])
            #expect(res.status == .forbidden)
            #expect(res.json == ["detail": "CSRF fallido: el token CSRF es incorrecto.", "code": "csrf_failed"])
            let noCookie = Self.cookieHeader(cookies, only: ["access_token"])
            res = try await t.send(.PATCH, "/api/auth/me/", json: ["nombre": "Sin cookie"], headers: ["Cookie": noCookie, "X-CSRFToken": .init(csrf)])
            #expect(res.status == .forbidden)
            res = try await t.send(.PATCH, "/api/auth/me/", json: ["nombre": "Con token"], headers: ["Cookie": header, "X-CSRFToken": .init(csrf)])
            #expect(res.status == .ok)
            #expect(res.json["nombre"] == "Con token")

            let user = try #require(try await Usuario.find(email: "csrf@example.com", on: t.db))
            let bearer = try await t.send(.PATCH, "/api/auth/me/", token: try await t.accessToken(for: user), json: ["nombre": "Bearer"])
            #expect(bearer.status == .ok)
        }
    }

    @Test("refresh from the cookie rotates (with CSRF); logout blacklists and clears")
    func refreshAndLogout() async throws {
        try await withApp { t in
            try await t.makeUser(email: "rota@example.com")
            let cookies = try await Self.login(t, email: "rota@example.com")
            let csrf = cookies["csrftoken"]?.string ?? ""
            let header = Self.cookieHeader(cookies)
            let noCSRF = try await t.send(.POST, "/api/auth/refresh/", headers: ["Cookie": header])
            #expect(noCSRF.status == .forbidden)
            let refreshed = try await t.send(.POST, "/api/auth/refresh/", headers: ["Cookie": header, "X-CSRFToken": .init(csrf)])
            #expect(refreshed.status == .ok)
            #expect(refreshed.json == [:])
            let rotated = refreshed.cookies
            #expect(rotated["refresh_token"]?.string != cookies["refresh_token"]?.string)
            #expect(rotated["access_token"] != nil)
            let replay = try await t.send(.POST, "/api/auth/refresh/", headers: ["Cookie": header, "X-CSRFToken": .init(csrf)])
            #expect(replay.status == .unauthorized)

            let newHeader = Self.cookieHeader(rotated)
            let newCSRF = rotated["csrftoken"]?.string ?? ""
            let logout = try await t.send(.POST, "/api/auth/logout/", headers: ["Cookie": newHeader, "X-CSRFToken": .init(newCSRF)])
            #expect(logout.status == .ok)
            #expect(logout.json == [:])
            #expect(logout.cookies["access_token"]?.maxAge == 0)
            #expect(logout.cookies["refresh_token"]?.string == "")
            let after = try await t.send(.POST, "/api/auth/refresh/", headers: ["Cookie": newHeader, "X-CSRFToken": .init(newCSRF)])
            #expect(after.status == .unauthorized)
            let anonymousLogout = try await t.send(.POST, "/api/auth/logout/")
            #expect(anonymousLogout.status == .ok)
            let noCookie = try await t.send(.POST, "/api/auth/refresh/")
            #expect(noCookie.status == .unauthorized)
            #expect(noCookie.json["code"] == "not_authenticated")
        }
    }

    @Test("an expired access cookie does not block refresh or logout")
    func expiredAccessCookie() async throws {
        try await withApp { t in
            let user = try await t.makeUser(email: "caduca@example.com")
            let cookies = try await Self.login(t, email: "caduca@example.com")
            let now = Int(Date().timeIntervalSince1970)
            let expired = try await t.tokens.keys.sign(TokenClaims(
                tokenType: .access, exp: now - 5, iat: now - 305, jti: TokenClaims.newJTI(),
                userID: String(try user.requireID()), rol: "mentor", ver: 0))
            let csrf = cookies["csrftoken"]?.string ?? ""
            let header = "access_token=\(expired); refresh_token=\(cookies["refresh_token"]?.string ?? ""); csrftoken=\(csrf)"
            let me = try await t.send(.GET, "/api/auth/me/", headers: ["Cookie": header])
            #expect(me.status == .unauthorized)
            #expect(me.json["code"] == "token_not_valid")
            let refresh = try await t.send(.POST, "/api/auth/refresh/", headers: ["Cookie": header, "X-CSRFToken": .init(csrf)])
            #expect(refresh.status == .ok)
        }
    }

    @Test("PATCH /api/auth/me/ changes nombre and apellidos only")
    func updateMe() async throws {
        try await withApp { t in
            let (user, token) = try await t.userWithToken(.mentor)
            let res = try await t.send(.PATCH, "/api/auth/me/", token: token, json: [
                "nombre": "  Nueva  ", "apellidos": "", "rol": "admin", "email": "otro@example.com", "activo": false,
            ])
            #expect(res.status == .ok)
            #expect(res.json["nombre"] == "Nueva")
            #expect(res.json["apellidos"] == "")
            #expect(res.json["rol"] == "mentor")
            #expect(res.json["email"].string == user.email)
            let bad = try await t.send(.PATCH, "/api/auth/me/", token: token, json: ["nombre": "", "apellidos": 12])
            #expect(bad.status == .badRequest)
            #expect(bad.json == ["nombre": ["Este campo no puede estar en blanco."]])
        }
    }

    @Test("cambiar-password checks the current password and Django's validators")
    func changePasswordValidation() async throws {
        try await withApp { t in
            let (_, token) = try await t.userWithToken(.mentor)
            let res = try await t.send(.POST, "/api/auth/cambiar-password/", token: token,
                                       json: ["password_actual": "equivocada", "password_nueva": "Zq9"])
            #expect(res.status == .badRequest)
            #expect(res.json == [
                "password_actual": ["La contraseña actual no es correcta."],
                "password_nueva": ["Esta contraseña es demasiado corta. Debe contener al menos 8 caracteres."],
            ])
            let missing = try await t.send(.POST, "/api/auth/cambiar-password/", token: token, json: [:])
            #expect(missing.json.objectKeys == ["password_actual", "password_nueva"])
            #expect(try await t.send(.POST, "/api/auth/cambiar-password/", json: [:]).status == .unauthorized)
        }
    }
}
