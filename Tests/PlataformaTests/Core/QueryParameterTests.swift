import Testing
import Vapor
@testable import Plataforma

/// `Request.queryParameter` reads a query string as Vapor's decoder does, whichever way it reads it.
@Suite("Query parameters")
struct QueryParameterTests {
    @Test("the same value as req.query[String.self, at:] for plain, encoded, odd and hostile query strings")
    func sameAsVapor() async throws {
        let app = try await Application.make(.testing)
        let queries = [
            "page_size=20", "page=2&page_size=5&ordering=-fecha", "search=ana&activo=true", "a=&b=1", "page=last",
            "search=Mar%C3%ADa+Jos%C3%A9", "search=a+b", "a=1&a=2", "a[]=1&a[]=2", "a[b]=1", "a=b=c", "flag", "&&page=2",
            "page=2&", "=x", "ordering=nombre,-fecha_alta", "mentor=7&desde=2026-01-01&hasta=2026-01-31", "x=%zz", "x=%",
            "x=1;y=2", "ñ=1&page=3", "page=%32",
        ]
        let keys = ["page", "page_size", "ordering", "search", "activo", "a", "b", "x", "y", "flag", "mentor", "desde", "hasta", "ñ", ""]
        for query in queries {
            let request = Request(application: app, method: .GET, url: URI(string: "/api/mentores/?\(query)"), on: app.eventLoopGroup.any())
            for key in keys {
                let vapor = request.query[String.self, at: key]
                #expect(request.queryParameter(key) == vapor, "query \(query), key \(key)")
            }
        }
        try await app.asyncShutdown()
    }
}
