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

    @Test("every route, with odd ids and hostile bodies, answers below 500 in the DRF shape")
    func sweep() async throws {
        try await withApp { t in
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
                }
            }
            #expect(checked > 150)
            // The admin is still there and still able to work.
            #expect(try await t.send(.GET, "/api/usuarios/\(try admin.requireID())/", token: token).status == .ok)
        }
    }
}
