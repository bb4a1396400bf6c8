import Foundation
import Testing
import Vapor
@testable import Plataforma

/// APIJSONWriter must write what Foundation's encoder (APIJSON.encoder) writes, byte for byte. The
/// whole suite checks it on every real answer (the testing environment verifies each one); these
/// cases are the corners the API's own values may not reach.
@Suite("API JSON writer")
struct APIJSONWriterTests {
    private func same<T: Encodable>(_ value: T, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let ours = String(decoding: try APIJSONWriter.encode(value), as: UTF8.self)
        let foundation = String(decoding: try APIJSON.encoder.encode(value), as: UTF8.self)
        #expect(ours == foundation, sourceLocation: sourceLocation)
    }

    struct Keys: Encodable {
        var horaInicio = 1, horaFin = 2, hora = 3, horario = 4, aB = 5, a_b = 6, ab = 7, a = 8
        var a10 = 9, a9 = 10, a1 = 11, myURLProperty = 12, _private = 13, trailing_ = 14, zZ = 15, Z = 16
        var fechaCreacionUTC = 17, número = 18, Ñandú = 19, x2Y = 20
    }

    @Test("keys: snake case from camel case, order as .sortedKeys orders them")
    func keys() throws {
        try same(Keys())
        try same(["zeta": 1, "alfa": 2, "camelCase": 3, "a10": 4, "a9": 5, "B": 6, "_x": 7, "árbol": 8])
        try same([3: "c", 1: "a", 20: "t", 100: "h"])
    }

    @Test("strings: every ASCII character, unicode, slashes unescaped")
    func strings() throws {
        try same(String((0..<128).map { Character(Unicode.Scalar(UInt8($0))) }))
        try same(["a/b", "ñandú 🇪🇸 \u{2028}\u{7F}", "", "\"quoted\" \\ back", "tab\tnew\nline\r\u{0}"])
    }

    @Test("numbers: integers of every width, doubles without a trailing .0, no NaN")
    func numbers() throws {
        try same([0.0, -0.0, 2.0, 0.1, 1.5, 1e16, 1e-7, 123456789.123, -3.25, 1e300, 5e-324, Double.greatestFiniteMagnitude])
        try same([Int.min, -1, 0, 9, 10, Int.max])
        try same([Int8.min: Int8.max].mapValues { $0 })
        try same(UInt64.max)
        try same(Float(0.1))
        try same(Decimal(string: "12.50")!)
        #expect(throws: (any Error).self) { try APIJSONWriter.encode(Double.nan) }
        #expect(throws: (any Error).self) { try APIJSONWriter.encode([Double.infinity]) }
    }

    @Test("dates as ISO8601DateFormatter writes them, whole seconds in UTC")
    func dates() throws {
        let instants: [TimeInterval] = [0, -1, -0.5, 0.999, 86_399.9, 951_782_400, 1_733_616_036.75, -2_208_988_800,
                                        4_102_444_800, 253_402_300_799, -62_135_596_800, 1e11, 1e13, -1e13,
                                        Date.distantFuture.timeIntervalSince1970, Date.distantPast.timeIntervalSince1970]
        for instant in instants { try same(Date(timeIntervalSince1970: instant)) }
        for _ in 0..<2_000 { try same(Date(timeIntervalSince1970: .random(in: -5e10...5e10))) }
    }

    struct Nested: Encodable {
        let values: [Int]
        func encode(to encoder: Encoder) throws {
            var top = encoder.container(keyedBy: DynamicKey.self)
            try top.encode("b", forKey: DynamicKey("zLast"))
            var inner = top.nestedContainer(keyedBy: DynamicKey.self, forKey: DynamicKey("innerObject"))
            try inner.encode(values, forKey: DynamicKey("valores"))
            try inner.encodeNil(forKey: DynamicKey("nada"))
            var list = top.nestedUnkeyedContainer(forKey: DynamicKey("lista"))
            try list.encode(1)
            var element = list.nestedContainer(keyedBy: DynamicKey.self)
            try element.encode(true, forKey: DynamicKey("dentroDeLista"))
            var deeper = list.nestedUnkeyedContainer()
            try deeper.encode("x")
            try list.encode(2)
            try Optional<Int>.none.encode(to: top.superEncoder())
            try top.encode("again", forKey: DynamicKey("zLast"))  // the last value under a key wins
            var second = encoder.container(keyedBy: DynamicKey.self)  // the same object again
            try second.encode(values.count, forKey: DynamicKey("cuenta"))
        }
    }

    struct Empty: Encodable {
        func encode(to encoder: Encoder) throws {}
    }

    struct Mixed: Encodable {
        var url = URL(string: "https://example.com/a/b?c=d")!
        var data = Data([0, 1, 2, 250, 255])
        var optional: String? = nil
        var present: String? = "sí"
        var empty = Empty()
        var emptyList: [Int] = []
        var emptyObject: [String: Int] = [:]
        var nested = [Nested(values: [1, 2]), Nested(values: [])]
        var json: JSONValue = .object(["camelKey": .array([.null, .bool(false), .int(-4), .double(2.5), .string("s")])])
    }

    @Test("containers: nested, super encoders, repeated keys, empty values, optionals, URL and Data")
    func containers() throws {
        try same(Mixed())
        try same(Nested(values: [3]))
        try same([[1, 2], [], [3]])
        try same([Optional<Int>.none, 1])
    }

    @Test("an answer through the app is written by APIJSONWriter, with the JSON content type")
    func throughContent() throws {
        var body = ByteBufferAllocator().buffer(capacity: 0)
        var headers = HTTPHeaders()
        try APIJSONWriter(verifying: true).encode(Mixed(), to: &body, headers: &headers)
        #expect(headers.contentType == .json)
        #expect(body.readableBytesView.elementsEqual(try APIJSON.encoder.encode(Mixed())))
    }
}
