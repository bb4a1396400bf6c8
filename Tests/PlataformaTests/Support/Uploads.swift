import AsyncHTTPClient
import Crypto
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Vapor
import VaporTesting
@testable import Plataforma

/// A `multipart/form-data` body built by hand, so tests can also build broken ones.
struct MultipartForm {
    enum Part {
        case file(name: String, filename: String, type: String = "application/octet-stream", bytes: [UInt8])
        case field(name: String, value: String)
        /// A part with its header block written as given.
        case raw(headers: String, bytes: [UInt8])
    }

    var parts: [Part]
    var boundary = "----PlataformaPrueba\(UUID().uuidString.prefix(8))"

    init(_ parts: [Part]) { self.parts = parts }

    /// `archivo` carrying `bytes` as `filename`, plus text fields.
    static func file(_ bytes: [UInt8], filename: String = "informe.pdf", field: String = "archivo",
                     fields: [(String, String)] = []) -> MultipartForm {
        MultipartForm([.file(name: field, filename: filename, bytes: bytes)] + fields.map { .field(name: $0.0, value: $0.1) })
    }

    var contentType: String { "multipart/form-data; boundary=\(boundary)" }

    /// The body; `terminated: false` leaves out the close delimiter (a truncated upload).
    func body(terminated: Bool = true) -> ByteBuffer {
        var buffer = ByteBuffer()
        for part in parts {
            buffer.writeString("--\(boundary)\r\n")
            switch part {
            case .file(let name, let filename, let type, let bytes):
                let quoted = filename.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
                buffer.writeString("Content-Disposition: form-data; name=\"\(name)\"; filename=\"\(quoted)\"\r\nContent-Type: \(type)\r\n\r\n")
                buffer.writeBytes(bytes)
            case .field(let name, let value):
                buffer.writeString("Content-Disposition: form-data; name=\"\(name)\"\r\n\r\n\(value)")
            case .raw(let headers, let bytes):
                buffer.writeString(headers + "\r\n\r\n")
                buffer.writeBytes(bytes)
            }
            buffer.writeString("\r\n")
        }
        if terminated { buffer.writeString("--\(boundary)--\r\n") }
        return buffer
    }
}

/// Content that passes (or deliberately fails) the sniffer.
enum Sample {
    /// Filler made with `repeating:` (cheap in debug builds, unlike a per-byte map); `seed` makes
    /// contents differ.
    static func pdf(_ size: Int = 2_000, seed: UInt8 = 0) -> [UInt8] {
        let head = Array("%PDF-1.7\n".utf8) + [seed]
        return head + [UInt8](repeating: 0x20 &+ seed, count: max(0, size - head.count - 6)) + Array("%%EOF\n".utf8)
    }

    static func png(_ size: Int = 1_000, seed: UInt8 = 0) -> [UInt8] {
        [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, seed] + [UInt8](repeating: 0x07 &+ seed, count: size - 9)
    }

    static func jpeg(_ size: Int = 1_000) -> [UInt8] {
        [0xFF, 0xD8, 0xFF, 0xE0] + [UInt8](repeating: 0x10, count: size - 4)
    }

    static let elf: [UInt8] = [0x7F, 0x45, 0x4C, 0x46, 0x02, 0x01, 0x01, 0x00] + [UInt8](repeating: 0, count: 56) + Array("\u{2}\u{0}>".utf8)

    static func text(_ string: String = "fecha,horas\n2026-01-10,2.5\n") -> [UInt8] { Array(string.utf8) }

    /// A stored (uncompressed) ZIP with these entry names; CRCs are not checked by the sniffer.
    static func zip(entries: [String]) -> [UInt8] {
        var local: [UInt8] = []
        var central: [UInt8] = []
        func le16(_ value: Int) -> [UInt8] { [UInt8(value & 0xFF), UInt8(value >> 8 & 0xFF)] }
        func le32(_ value: Int) -> [UInt8] { le16(value & 0xFFFF) + le16(value >> 16 & 0xFFFF) }
        for name in entries {
            let data = Array("<x/>".utf8)
            let offset = local.count
            local += le32(0x0403_4B50) + le16(20) + le16(0) + le16(0) + le16(0) + le16(0) + le32(0)
                + le32(data.count) + le32(data.count) + le16(name.utf8.count) + le16(0) + Array(name.utf8) + data
            central += le32(0x0201_4B50) + le16(20) + le16(20) + le16(0) + le16(0) + le16(0) + le16(0) + le32(0)
                + le32(data.count) + le32(data.count) + le16(name.utf8.count) + le16(0) + le16(0) + le16(0) + le16(0)
                + le32(0) + le32(offset) + Array(name.utf8)
        }
        let end = le32(0x0605_4B50) + le16(0) + le16(0) + le16(entries.count) + le16(entries.count)
            + le32(central.count) + le32(local.count) + le16(0)
        return local + central + end
    }

    static func sha256(_ bytes: [UInt8]) -> String {
        SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
    }
}

extension TestApp {
    /// Sends a body of raw bytes.
    @discardableResult
    func send(_ method: HTTPMethod, _ path: String, token: String? = nil, bytes: ByteBuffer,
              headers: HTTPHeaders = [:]) async throws -> TestingHTTPResponse {
        var headers = headers
        if let token { headers.replaceOrAdd(name: .authorization, value: "Bearer \(token)") }
        return try await app.testing(method: .running(hostname: "127.0.0.1", port: 0))
            .sendRequest(method, path, headers: headers, body: bytes)
    }

    /// Sends `form` as `multipart/form-data`.
    @discardableResult
    func upload(_ path: String, _ form: MultipartForm, token: String?, method: HTTPMethod = .POST,
                headers: HTTPHeaders = [:]) async throws -> TestingHTTPResponse {
        var headers = headers
        headers.replaceOrAdd(name: .contentType, value: form.contentType)
        return try await send(method, path, token: token, bytes: form.body(), headers: headers)
    }

    /// Files under `MEDIA_ROOT`, outside `tmp/`: the stored blobs.
    func storedBlobs() -> [String] {
        let root = app.settings.mediaRoot
        let files = FileManager.default.enumerator(atPath: root)?.compactMap { $0 as? String } ?? []
        return files.filter { !$0.hasPrefix("tmp") && ($0 as NSString).lastPathComponent.count == 64 }.sorted()
    }

    /// Entries of `MEDIA_ROOT/tmp/`.
    func tempFiles() -> [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: app.media.tmpDirectory)) ?? []
    }

    /// Descriptors this process holds open on files in `MEDIA_ROOT/tmp/` (unnamed temporary
    /// files included): an upload that was cut short must not leave one behind. Linux only
    /// (`/proc`); elsewhere always 0.
    func openTempDescriptors() -> Int {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        return entries.filter { entry in
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(entry)"))?
                .hasPrefix(app.media.tmpDirectory) == true
        }.count
    }

    /// Runs `body` with the app's server listening on a loopback port.
    func withServer<T>(_ body: (Int) async throws -> T) async throws -> T {
        try await app.server.start(address: .hostname("127.0.0.1", port: 0))
        do {
            guard let port = app.http.server.shared.localAddress?.port else { throw Abort(.internalServerError) }
            let result = try await body(port)
            await app.server.shutdown()
            return result
        } catch {
            await app.server.shutdown()
            throw error
        }
    }

    /// `count` uploads of `form(i)` at once over real connections.
    func concurrentUploads(_ count: Int, _ path: String, token: String,
                           form: @escaping @Sendable (Int) -> MultipartForm) async throws -> [RawResponse] {
        try await concurrentRequests(count, token: token) { index in
            let form = form(index)
            return (.POST, path, ["Content-Type": form.contentType], form.body())
        }
    }

    /// `count` requests at once over real connections; `request(i)` gives the i-th.
    func concurrentRequests(_ count: Int, token: String,
                            request: @escaping @Sendable (Int) -> (HTTPMethod, String, HTTPHeaders, ByteBuffer?)) async throws -> [RawResponse] {
        try await withServer { port in
            let client = HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton)
            do {
                let responses = try await withThrowingTaskGroup(of: (Int, RawResponse).self) { group in
                    for index in 0..<count {
                        group.addTask {
                            let (method, path, headers, body) = request(index)
                            var outgoing = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
                            outgoing.method = method
                            outgoing.headers.add(name: "Authorization", value: "Bearer \(token)")
                            outgoing.headers.add(contentsOf: headers)
                            if let body { outgoing.body = .bytes(body) }
                            let response = try await client.execute(outgoing, timeout: .seconds(60))
                            let bytes = try await response.body.collect(upTo: 1 << 24)
                            let value = (try? JSONDecoder().decode(JSONValue.self, from: Data(bytes.readableBytesView))) ?? .null
                            return (index, RawResponse(status: response.status, headers: response.headers, body: value))
                        }
                    }
                    return try await group.reduce(into: [:]) { $0[$1.0] = $1.1 }
                }
                try await client.shutdown()
                return (0..<count).compactMap { responses[$0] }
            } catch {
                try? await client.shutdown()
                throw error
            }
        }
    }
}

/// One TCP connection driven byte by byte, for what HTTP clients won't send: lying
/// `Content-Length`s, bodies cut off mid-way, endless chunked uploads.
enum RawHTTP {
    /// Sends `head`, then `body` chunks while reading; returns what the server answered before
    /// closing (or before `timeout`). With `abandon`, runs it after sending and hangs up unanswered.
    static func exchange(port: Int, head: String, body: AsyncStream<ByteBuffer>,
                         abandon: (@Sendable () async throws -> Void)? = nil,
                         timeout: TimeAmount = .seconds(30)) async throws -> String {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        return try await channel.executeThenClose { inbound, outbound in
            try await outbound.write(ByteBuffer(string: head))
            if let abandon {
                for await chunk in body { try await outbound.write(chunk) }
                try await abandon()
                return ""
            }
            return try await withThrowingTaskGroup(of: String?.self) { group in
                group.addTask {
                    // The server may stop reading once it has answered: write errors are expected.
                    for await chunk in body { do { try await outbound.write(chunk) } catch { break } }
                    return nil
                }
                group.addTask {
                    var response = ByteBuffer()
                    for try await part in inbound { response.writeImmutableBuffer(part) }
                    return String(buffer: response)
                }
                group.addTask {
                    try await Task.sleep(nanoseconds: UInt64(timeout.nanoseconds))
                    return "timeout"
                }
                var answer = ""
                while let next = try await group.next() {
                    if let text = next {
                        answer = text
                        break
                    }
                }
                group.cancelAll()
                return answer
            }
        }
    }

    /// A body stream of `total` bytes in `chunk`-sized buffers, starting with `prefix`.
    static func stream(prefix: ByteBuffer, total: Int, chunk: Int = 64 << 10, chunked: Bool = false) -> AsyncStream<ByteBuffer> {
        AsyncStream { continuation in
            var sent = 0
            var first = true
            func frame(_ buffer: ByteBuffer) -> ByteBuffer {
                guard chunked else { return buffer }
                var framed = ByteBuffer(string: String(buffer.readableBytes, radix: 16) + "\r\n")
                framed.writeImmutableBuffer(buffer)
                framed.writeString("\r\n")
                return framed
            }
            while sent < total {
                var buffer: ByteBuffer
                if first {
                    buffer = prefix
                    first = false
                } else {
                    buffer = ByteBuffer(repeating: 0x41, count: min(chunk, total - sent))
                }
                sent += buffer.readableBytes
                continuation.yield(frame(buffer))
            }
            if chunked { continuation.yield(ByteBuffer(string: "0\r\n\r\n")) }
            continuation.finish()
        }
    }

    /// The status code of a raw response (`HTTP/1.1 413 …`).
    static func status(_ response: String) -> Int? {
        response.split(separator: " ", maxSplits: 2).dropFirst().first.flatMap { Int($0) }
    }
}
