import Foundation
import NIOConcurrencyHelpers
import NIOPosix

/// A real Redis for the tests: `TEST_REDIS_URL` (CI starts Redis 7), else a `redis-server` this
/// test process starts once on a free loopback port and that exits with it.
enum TestRedis {
    static var configuredURL: String? {
        ProcessInfo.processInfo.environment["TEST_REDIS_URL"].flatMap { $0.isEmpty ? nil : $0 }
    }

    private static let started = NIOLockedValueBox<Result<String, any Error>?>(nil)

    static func url() throws -> String {
        if let configuredURL { return configuredURL }
        return try started.withLockedValue { state in
            if let state { return try state.get() }
            let result = Result { try launch() }
            state = result
            return try result.get()
        }
    }

    /// A unique key prefix, so tests sharing one Redis never see each other's keys.
    static func prefix() -> String { "t\(UUID().uuidString.prefix(8).lowercased()):" }

    private static func launch() throws -> String {
        guard let binary = ["/usr/bin/redis-server", "/usr/local/bin/redis-server"].first(where: FileManager.default.isExecutableFile) else {
            throw TestRedisError("redis-server not found: install it (apt-get install redis-server) or set TEST_REDIS_URL")
        }
        let port = try freePort()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        // The watcher stops Redis once this test process is gone; if the watcher itself is killed,
        // the kernel kills Redis (setpriv --pdeathsig; SIGTERM would be blocked by the signal mask Redis inherits).
        process.arguments = ["-c", """
            setpriv --pdeathsig KILL "\(binary)" --port \(port) --bind 127.0.0.1 --save '' --appendonly no --loglevel warning &
            redis=$!
            while kill -0 \(ProcessInfo.processInfo.processIdentifier) 2>/dev/null && kill -0 $redis 2>/dev/null; do sleep 1; done
            kill -9 $redis 2>/dev/null
            """]
        // Inheriting the test's stdout/stderr would keep `swift test` waiting on the pipe after the tests end.
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        for _ in 0..<100 {
            if (try? ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton).connect(host: "127.0.0.1", port: port).wait())
                .map({ _ = $0.close(); return true }) == true {
                return "redis://127.0.0.1:\(port)/0"
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
        throw TestRedisError("redis-server did not start on port \(port)")
    }

    private static func freePort() throws -> Int {
        let channel = try ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).wait()
        defer { try? channel.close().wait() }
        guard let port = channel.localAddress?.port else { throw TestRedisError("no free port") }
        return port
    }
}

struct TestRedisError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
