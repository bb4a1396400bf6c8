import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

import Plataforma

/// A TCP server on 127.0.0.1 that misbehaves on demand, to test how the Redis client copes with broken peers.
final class RedisFakeServer: Sendable {
    enum Mode: Sendable {
        /// Answers anything with bytes that aren't RESP (`?what\r\n`).
        case garbage
        /// Starts a 10-byte bulk reply, sends 3 bytes, then closes.
        case closeMidReply
        /// Reads and never answers.
        case silent
        /// Answers `+PONG` to every command (sanity mode).
        case pong
    }

    private struct State {
        var mode: Mode
        var listener: (any Channel)?
        var connections: [any Channel] = []
    }

    private let group: any EventLoopGroup
    private let state: NIOLockedValueBox<State>

    init(mode: Mode, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.group = group
        self.state = NIOLockedValueBox(State(mode: mode))
    }

    /// The current behaviour; can be changed while clients are connected (applies to the next bytes read).
    var mode: Mode {
        get { state.withLockedValue { $0.mode } }
        set { state.withLockedValue { $0.mode = newValue } }
    }

    /// Starts listening (port 0 picks a free port) and returns the port.
    func start(port: Int = 0) async throws -> Int {
        let listener = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                self.state.withLockedValue { $0.connections.append(channel) }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(FakeRedisHandler(server: self))
                }
            }
            .bind(host: "127.0.0.1", port: port)
            .get()
        state.withLockedValue { $0.listener = listener }
        guard let boundPort = listener.localAddress?.port else {
            try? await listener.close()
            throw ChannelError.unknownLocalAddress
        }
        return boundPort
    }

    /// Stops listening and closes every accepted connection.
    func stop() async {
        let channels = state.withLockedValue { state -> [any Channel] in
            defer { state.listener = nil; state.connections = [] }
            return (state.listener.map { [$0] } ?? []) + state.connections
        }
        for channel in channels { try? await channel.close() }
    }
}

private final class FakeRedisHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let server: RedisFakeServer
    private var parser = RESPParser()  // commands are RESP arrays too
    private var pending = ByteBuffer()

    init(server: RedisFakeServer) {
        self.server = server
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        switch server.mode {
        case .silent:
            return
        case .garbage:
            context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: "?what\r\n")), promise: nil)
        case .closeMidReply:
            context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: "$10\r\nabc")))
                .assumeIsolated()
                .whenComplete { _ in context.close(promise: nil) }
        case .pong:
            pending.writeBuffer(&bytes)
            var replies = ByteBuffer()
            while let command = try? parser.next(&pending), command.array != nil {
                replies.writeString("+PONG\r\n")
            }
            pending.discardReadBytes()
            context.writeAndFlush(wrapOutboundOut(replies), promise: nil)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
