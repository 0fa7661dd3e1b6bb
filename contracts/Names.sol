// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title Names, mutable names with history
/// @notice Every account owns its own namespace: a name is stored under (msg.sender, nameId), so two owners' names
/// never collide and only the owner (the signer of the transaction) can write its names. The client derives
/// `nameId = keccak256(abi.encode(owner, keccak256(bytes(name))))` (`nameIdOf`); the contract does not need the name
/// and never sees it. A value is an opaque, size-capped record (Cairn writes an AES-256-GCM encrypted capability).
///
/// `publish` is a compare-and-swap: it takes the next sequence number (current + 1) and reverts with
/// `SequenceConflict` otherwise, so two writers racing on one sequence number never lose an update silently. The
/// latest record is kept in storage (sequence, block, hash of the value); every value is in a `NamePublished` event
/// that also names the block of the previous record, so a reader walks the history back one block at a time
/// without scanning the chain.
contract Names {
    /// @notice Largest value a record may hold, in bytes (an encrypted capability takes about 150).
    uint256 public constant MAX_VALUE_BYTES = 512;

    struct Record {
        uint64 sequence;
        uint64 blockNumber;
        bytes32 valueHash;
    }

    mapping(address owner => mapping(bytes32 nameId => Record)) private records;

    /// @notice `owner` set `nameId` to `value` at `sequence`; the record before it was published in `previousBlock`
    /// (0 for the first record).
    event NamePublished(
        address indexed owner, bytes32 indexed nameId, uint64 indexed sequence, bytes value, uint64 previousBlock
    );

    /// @notice The publish asked for `sequence`, but the name is at `current`: only `current + 1` is accepted.
    error SequenceConflict(address owner, bytes32 nameId, uint64 sequence, uint64 current);
    /// @notice The value has `size` bytes: it must have 1 to `max`.
    error InvalidValueSize(uint256 size, uint256 max);

    /// @notice Sets the caller's name `nameId` to `value` as record number `sequence`, which must be the current
    /// sequence plus one (the first record is 1).
    function publish(bytes32 nameId, uint64 sequence, bytes calldata value) external {
        if (value.length == 0 || value.length > MAX_VALUE_BYTES) {
            revert InvalidValueSize(value.length, MAX_VALUE_BYTES);
        }
        Record storage record = records[msg.sender][nameId];
        uint64 current = record.sequence;
        if (sequence != current + 1) revert SequenceConflict(msg.sender, nameId, sequence, current);
        uint64 previousBlock = record.blockNumber;
        record.sequence = sequence;
        record.blockNumber = uint64(block.number);
        record.valueHash = keccak256(value);
        emit NamePublished(msg.sender, nameId, sequence, value, previousBlock);
    }

    /// @notice The latest record of `owner`'s name `nameId`: its sequence (0: never published), the block of its
    /// `NamePublished` event and the keccak256 of its value.
    function latest(address owner, bytes32 nameId)
        external
        view
        returns (uint64 sequence, uint64 blockNumber, bytes32 valueHash)
    {
        Record storage record = records[owner][nameId];
        return (record.sequence, record.blockNumber, record.valueHash);
    }

    /// @notice The ID of `owner`'s name `name`, as clients derive it.
    function nameIdOf(address owner, string calldata name) external pure returns (bytes32) {
        return keccak256(abi.encode(owner, keccak256(bytes(name))));
    }
}
