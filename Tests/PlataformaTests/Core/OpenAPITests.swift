import Foundation
import Testing
import Vapor
import VaporTesting
@testable import Plataforma

@Suite("OpenAPI document")
struct OpenAPITests {
    @Test("every registered route is documented and every documented operation is a route")
    func parity() async throws {
        try await withApp { t in
            let routes = Set(t.app.routes.all.map { "\($0.method.rawValue) \(OpenAPIBuilder.template(of: $0))" })
            let documented = Set(APIDocs.operations.map { "\($0.method.rawValue) \($0.path)" })
            #expect(routes.subtracting(documented).sorted() == [], "routes missing from the document")
            #expect(documented.subtracting(routes).sorted() == [], "documented operations with no route")
            #expect(APIDocs.operations.count == documented.count, "an operation is documented twice")
        }
    }

    @Test("/api/schema/ serves OpenAPI 3.1 JSON with camelCase keys intact and resolvable references")
    func served() async throws {
        try await withApp { t in
            let res = try await t.send(.GET, "/api/schema/")
            #expect(res.status == .ok)
            #expect(res.headers.first(name: .contentType)?.hasPrefix("application/vnd.oai.openapi+json") == true)
            let document = res.json
            #expect(document["openapi"] == "3.1.0")
            let operation = document["paths"]["/api/usuarios/{id}/"]["get"]
            #expect(operation["operationId"] == "get_usuarios_by_id")
            let ids = APIDocs.operations.map(OpenAPIBuilder.operationID)
            #expect(Set(ids).count == ids.count, "operationIds are unique")
            #expect(operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"] == "#/components/schemas/Usuario")
            #expect(document["components"]["securitySchemes"]["bearer"]["bearerFormat"] == "JWT")
            let text = res.body.string
            let references = Set(text.components(separatedBy: "\"#/components/schemas/").dropFirst().compactMap { $0.split(separator: "\"").first })
            let schemas = document["components"]["schemas"].objectKeys
            #expect(!references.isEmpty)
            #expect(references.allSatisfy { schemas.contains(String($0)) })
        }
    }
}
