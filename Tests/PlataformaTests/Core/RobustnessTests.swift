import Foundation
import Testing
import Vapor
import VaporTesting
@testable import Plataforma

@Suite("No input produces a 500")
struct RobustnessTests {
    static let bodies: [(String, String?)] = [
        ("", nil), ("{}", "application/json"), ("[]", "application/json"), ("null", "application/json"),
        ("{\"a\":", "application/json"), ("\u{FF}\u{FE}\u{00}", "application/json"),
        (#"{"email":{"$gt":""},"password":[1,{"x":null}],"nombre":1e309,"rol":true,"activo":"sí","id":-1}"#, "application/json"),
        (#"{"refresh":"\u0000","token":"a.b.c","password_actual":12,"password_nueva":null}"#, "application/json"),
        ("email=a&password=b", "application/x-www-form-urlencoded"),
    ]

    static let queries = [
        "search=%25_%5C%27%22%3B--&ordering=-nombre,,%20,-&page_size=-1",
        "activo=quiz%C3%A1s&rol=x&estado=x&proyecto=-1&mentor=abc&conocimiento=%27%20OR%201%3D1--&disponible_dia=99&disponible_hora=99:99",
        "conocimiento=99999999999999999999&proyecto=99999999999999999999&desde=2026-02-30&hasta=x&page=2",
        "search=" + String(repeating: "a%20", count: 300),
        // NUL characters: PostgreSQL refuses them in text, so they must be a 400 before any SQL.
        "conocimiento=%F1%B9%B5%B8%00x&categoria=a%00b&recurso=%00&search=%00&ordering=%00",
    ]

    @Test("every route, with odd ids and hostile bodies, answers below 500 in the DRF shape")
    func sweep() async throws {
        try await withApp(["THROTTLE_USER": "None"]) { t in
            let (admin, token) = try await t.userWithToken(.admin)
            let other = try await t.makeUser()
            let routes = t.app.routes.all
            var checked = 0
            for route in routes {
                let ids = route.path.contains(where: { if case .parameter = $0 { true } else { false } })
                    ? [String(try other.requireID()), "0", "-7", "99999999999999999999", "abc", "admin"] : [""]
                for id in ids {
                    let path = "/" + route.path.map { component -> String in
                        if case .parameter = component { return id }
                        return component.description
                    }.joined(separator: "/") + "/"
                    for (body, type) in Self.bodies {
                        var headers: HTTPHeaders = [:]
                        if let type { headers.replaceOrAdd(name: .contentType, value: type) }
                        let res = try await t.send(route.method, path, token: token, body: body, headers: headers)
                        #expect(res.status.code < 500, "\(route.method) \(path) \(body)")
                        if res.status.code >= 400 {
                            #expect(!res.json.objectKeys.isEmpty, "\(route.method) \(path): \(res.body.string)")
                        }
                        checked += 1
                    }
                    if route.method == .GET {
                        for query in Self.queries {
                            let res = try await t.send(.GET, path + "?" + query, token: token)
                            #expect(res.status.code < 500, "GET \(path)?\(query)")
                            checked += 1
                        }
                    }
                }
            }
            #expect(checked > 150)
            // The admin is still there and still able to work.
            #expect(try await t.send(.GET, "/api/usuarios/\(try admin.requireID())/", token: token).status == .ok)
        }
    }
}
