import Fluent
import Foundation
import Testing
import Vapor
import VaporTesting
@testable import Plataforma

/// The declared type, the name's extension and the content must agree on one allowed type (SPEC §5).
@Suite("Uploads: declared type, extension and content agree")
struct UploadTypeTests {
    private static let html = Array("<html><script>alert(1)</script></html>".utf8)
    private static let ole = [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1] + [UInt8](repeating: 0, count: 504)
    private static let gif = Array("GIF89a".utf8) + [1, 0, 1, 0, 0, 0]
    private static let webp = Array("RIFF".utf8) + [20, 0, 0, 0] + Array("WEBPVP8 ".utf8) + [0, 0, 0, 0]
    private static let docx = Sample.zip(entries: ["[Content_Types].xml", "word/document.xml"])
    private static let xlsx = Sample.zip(entries: ["[Content_Types].xml", "xl/workbook.xml"])
    private static let pptx = Sample.zip(entries: ["[Content_Types].xml", "ppt/presentation.xml"])

    private func upload(_ t: TestApp, _ token: String, _ name: String, _ type: String?, _ bytes: [UInt8],
                        path: String = "/api/archivos/", field: String = "archivo", method: HTTPMethod = .POST) async throws -> TestingHTTPResponse {
        let part: MultipartForm.Part = if let type {
            .file(name: field, filename: name, type: type, bytes: bytes)
        } else {
            .raw(headers: "Content-Disposition: form-data; name=\"\(field)\"; filename=\"\(name)\"", bytes: bytes)
        }
        return try await t.upload(path, MultipartForm([part]), token: token, method: method)
    }

    @Test("HTML named foto.png and declared image/png is 415 naming HTML, and nothing is stored")
    func htmlAsImage() async throws {
        try await withApp { t in
            let (_, token) = try await t.userWithToken(.admin)
            let res = try await upload(t, token, "foto.png", "image/png", Self.html)
            #expect(res.status == .unsupportedMediaType)
            #expect(res.json["code"] == "unsupported_media_type")
            let detail = try #require(res.json["detail"].string)
            #expect(detail.contains("HTML") && detail.contains(".png") && detail.contains("image/png"), "\(detail)")
            #expect(try await Archivo.query(on: t.db).count() == 0)
            #expect(t.tempFiles().isEmpty && t.storedBlobs().isEmpty)
        }
    }

    @Test("every way the three can disagree is 415 naming what was found; markup and scripts never pass as text")
    func disagreements() async throws {
        try await withApp { t in
            let (_, token) = try await t.userWithToken(.admin)
            let padding = String(repeating: "línea de notas\n", count: 30)
            let cases: [(String, String?, [UInt8], String)] = [
                // extension vs content
                ("informe.pdf", "application/octet-stream", Sample.png(), "PNG"),
                ("tabla.xlsx", nil, Self.docx, "Word"),
                ("datos.csv", "text/csv", Sample.pdf(), "PDF"),
                // declared type vs content
                ("sin-extension", "image/png", Sample.pdf(), "PDF"),
                ("sin-extension", "text/plain", Sample.jpeg(), "JPEG"),
                // extension vs declared type (refused before a byte is stored)
                ("informe.pdf", "image/png", Sample.pdf(), "«image/png»"),
                ("foto.png", "application/pdf", Sample.png(), "«.png»"),
                // all three differ
                ("foto.jpg", "application/pdf", Sample.png(), "«.jpg»"),
                // types that are never allowed, by extension, declaration or content
                ("pagina.html", "text/html", Self.html, "«.html»"),
                ("dibujo.svg", "image/svg+xml", Array("<svg xmlns='http://www.w3.org/2000/svg'/>".utf8), "«.svg»"),
                ("notas.txt", "text/html", Sample.text("hola\n"), "«text/html»"),
                ("app.js", "text/javascript", Sample.text("alert(1)\n"), "«.js»"),
                ("programa.exe", "application/octet-stream", Sample.elf, "«.exe»"),
                // markup inside what claims to be text
                ("notas.txt", "text/plain", Self.html, "HTML"),
                ("datos.csv", "text/csv", Array("<svg onload=alert(1)></svg>".utf8), "SVG"),
                ("notas.txt", "text/plain", Array("<?xml version=\"1.0\"?><a/>".utf8), "XML"),
                ("instalar.txt", "text/plain", Sample.text("#!/bin/sh\nrm -rf /\n"), "script"),
                ("notas.md", "text/markdown", Sample.text(padding + "<script>alert(1)</script>\n"), "script"),
                ("notas.txt", nil, Array("\u{FEFF}  <!DOCTYPE html><p>hola".utf8), "HTML"),
                ("foto.png", "image/png", Self.html, "HTML"),
            ]
            for (name, type, bytes, found) in cases {
                let res = try await upload(t, token, name, type, bytes)
                #expect(res.status == .unsupportedMediaType, "\(name) \(type ?? "-"): \(res.status)")
                #expect(res.json["code"] == "unsupported_media_type")
                #expect(res.json.objectKeys == ["detail", "code"])
                #expect(res.json["detail"].string?.contains(found) == true, "\(name): \(res.json["detail"])")
            }
            #expect(try await Archivo.query(on: t.db).count() == 0)
            #expect(t.tempFiles().isEmpty)
        }
    }

    @Test("each allowed type, as Chromium and Firefox declare it (and with no declared type), is accepted with its media type")
    func whatBrowsersSend() async throws {
        try await withApp { t in
            let (_, token) = try await t.userWithToken(.admin)
            let word = OOXMLKind.word.mimeType, excel = OOXMLKind.excel.mimeType, powerpoint = OOXMLKind.powerpoint.mimeType
            // (name, bytes, [declared types seen from Chromium and Firefox on Linux, Windows and macOS], stored type)
            let cases: [(String, [UInt8], [String?], String)] = [
                ("acta.pdf", Sample.pdf(), ["application/pdf", "application/x-pdf"], "application/pdf"),
                ("foto.png", Sample.png(), ["image/png", "image/x-png"], "image/png"),
                ("foto.jpg", Sample.jpeg(), ["image/jpeg", "image/jpg", "image/pjpeg"], "image/jpeg"),
                ("foto.jpeg", Sample.jpeg(), ["image/jpeg"], "image/jpeg"),
                ("foto.jfif", Sample.jpeg(), ["image/jpeg", "application/octet-stream"], "image/jpeg"),
                ("animado.gif", Self.gif, ["image/gif"], "image/gif"),
                ("foto.webp", Self.webp, ["image/webp", "application/octet-stream"], "image/webp"),
                ("informe.docx", Self.docx, [word, "application/octet-stream"], word),
                ("tabla.xlsx", Self.xlsx, [excel], excel),
                ("charla.pptx", Self.pptx, [powerpoint], powerpoint),
                ("viejo.doc", Self.ole, ["application/msword"], "application/msword"),
                ("viejo.xls", Self.ole, ["application/vnd.ms-excel", "application/x-msexcel"], "application/vnd.ms-excel"),
                ("viejo.ppt", Self.ole, ["application/vnd.ms-powerpoint"], "application/vnd.ms-powerpoint"),
                ("fotos.zip", Sample.zip(entries: ["a.txt"]), ["application/zip", "application/x-zip-compressed"], "application/zip"),
                ("notas.txt", Sample.text("hola\n"), ["text/plain"], "text/plain"),
                ("horas.csv", Sample.text(), ["text/csv", "application/vnd.ms-excel", "text/plain", "application/csv"], "text/csv"),
                ("leeme.md", Sample.text("# Título\n"), ["text/markdown", "text/plain", "application/octet-stream"], "text/markdown"),
                // A Word document inside a name that says ZIP is a ZIP.
                ("paquete.zip", Self.docx, ["application/zip"], "application/zip"),
            ]
            var seed: UInt8 = 0
            for (name, bytes, declaredTypes, stored) in cases {
                for declared in declaredTypes + [nil] {
                    seed &+= 1
                    // Distinct bytes each time, so every upload is stored on its own.
                    let res = try await upload(t, token, name, declared, bytes + (stored.hasPrefix("text/") ? Array("\(seed)\n".utf8) : [seed]))
                    #expect(res.status == .created, "\(name) as \(declared ?? "(none)"): \(res.json)")
                    #expect(res.json["tipo_mime"].string == stored, "\(name) as \(declared ?? "(none)")")
                }
            }
        }
    }

    @Test("photos and certificate files apply the same agreement within their own types")
    func photosAndCertificates() async throws {
        try await withApp { t in
            let (user, token) = try await t.userWithToken(.admin)
            let photo = "/api/usuarios/\(try user.requireID())/foto/"
            #expect(try await upload(t, token, "yo.jpg", "image/jpg", Sample.jpeg(), path: photo, field: "foto", method: .PUT).status == .ok)
            #expect(try await upload(t, token, "yo.png", "image/png", Sample.png(), path: photo, field: "foto", method: .PUT).status == .ok)
            for (name, type, bytes) in [("yo.png", "image/png", Sample.jpeg()), ("yo.png", "image/png", Self.html),
                                        ("yo.gif", "image/gif", Self.gif), ("yo.pdf", "application/pdf", Sample.pdf())] {
                let res = try await upload(t, token, name, type, bytes, path: photo, field: "foto", method: .PUT)
                #expect(res.status == .unsupportedMediaType, "\(name)")
                #expect(res.json["code"] == "unsupported_media_type")
            }
            let mentor = try await t.makeMentor()
            let base = "/api/mentores/\(try mentor.requireID())/certificados/"
            let created = try await t.send(.POST, base, token: token, json: ["nombre": "AWS", "entidad": "Amazon", "fecha_obtencion": "2025-01-10"])
            let file = "\(base)\(try #require(created.json["id"].int))/archivo/"
            #expect(try await upload(t, token, "cert.pdf", "application/pdf", Sample.pdf(), path: file, method: .PUT).status == .ok)
            #expect(try await upload(t, token, "cert.png", "application/pdf", Sample.pdf(), path: file, method: .PUT).status == .unsupportedMediaType)
            #expect(try await upload(t, token, "cert.pdf", "application/pdf", Self.html, path: file, method: .PUT).status == .unsupportedMediaType)
        }
    }
}
