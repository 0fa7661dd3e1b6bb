// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Burnable} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Burnable.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";

/// @title CAIRN, the network's token
/// @notice ERC-20 with EIP-2612 permit (approve and pay in one transaction). After the genesis allocation made in the
/// constructor, only the minter (the Market, set once by the deployer) can create tokens: that is the emission
/// schedule paying nodes for proven storage. Anyone may burn its own tokens (the Market burns the protocol fee).
contract CairnToken is ERC20, ERC20Burnable, ERC20Permit {
    /// @notice The account allowed to mint; zero until `setMinter` is called once.
    address public minter;
    address private immutable _deployer;

    event MinterSet(address indexed minter);

    error NotMinter(address caller);
    error MinterAlreadySet(address minter);
    error NotDeployer(address caller);
    error AllocationMismatch(uint256 holders, uint256 amounts);

    constructor(address[] memory holders, uint256[] memory amounts) ERC20("Cairn", "CAIRN") ERC20Permit("Cairn") {
        if (holders.length != amounts.length) revert AllocationMismatch(holders.length, amounts.length);
        _deployer = msg.sender;
        for (uint256 i = 0; i < holders.length; i++) {
            _mint(holders[i], amounts[i]);
        }
    }

    /// @notice Names the minter (the Market). Callable once, by the deployer.
    function setMinter(address newMinter) external {
        if (msg.sender != _deployer) revert NotDeployer(msg.sender);
        if (minter != address(0)) revert MinterAlreadySet(minter);
        minter = newMinter;
        emit MinterSet(newMinter);
    }

    /// @notice Mints `amount` to `to`; only the Market, per its emission schedule.
    function mint(address to, uint256 amount) external {
        if (msg.sender != minter) revert NotMinter(msg.sender);
        _mint(to, amount);
    }
}
